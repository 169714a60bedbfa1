/**
 * Test images for the OCI tests, built locally with umoci (no Docker Hub here), cached under
 * `.cache/test-images/oci-<recipe hash>`, pushed with skopeo; plus the reference unpack
 * (`skopeo copy --decryption-key` + `umoci unpack`) and a tree walker to compare rootfs trees.
 */
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import {
  chmod,
  chown,
  copyFile,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PROJECT_ROOT } from './source-files.js';

export const OCI_IMAGE_CACHE = join(PROJECT_ROOT, '.cache', 'test-images');
const RECIPE_VERSION = 3;

export type FileSpec =
  | {
      readonly kind: 'file';
      readonly path: string;
      readonly content: string;
      readonly mode?: number;
      readonly uid?: number;
      readonly gid?: number;
    }
  | {
      readonly kind: 'blob';
      readonly path: string;
      readonly size: number;
      readonly seed: string;
      readonly mode?: number;
    }
  | {
      readonly kind: 'dir';
      readonly path: string;
      readonly mode?: number;
      readonly uid?: number;
      readonly gid?: number;
    }
  | {
      readonly kind: 'symlink';
      readonly path: string;
      readonly target: string;
      readonly uid?: number;
      readonly gid?: number;
    }
  | { readonly kind: 'hardlink'; readonly path: string; readonly target: string }
  | { readonly kind: 'busybox'; readonly path: string }
  | { readonly kind: 'remove'; readonly path: string };

export interface ImageRecipe {
  /** One entry per layer (umoci repack after each). */
  readonly layers: readonly (readonly FileSpec[])[];
  readonly cmd?: readonly string[];
  readonly architecture?: string;
  /** Image config fields (omitted: umoci's defaults). */
  readonly entrypoint?: readonly string[];
  readonly env?: readonly string[];
  readonly user?: string;
  readonly workingDir?: string;
}

export interface OciLayout {
  readonly dir: string;
  readonly tag: string;
}

export async function sh(
  argv: readonly string[],
  opts: { timeoutMs?: number } = {},
): Promise<string> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('empty command');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else
        reject(new Error(`${argv.join(' ')} failed (${String(code)}): ${err}${out.slice(-1000)}`));
    });
  });
}

function hashOf(value: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify({ v: RECIPE_VERSION, value }))
    .digest('hex')
    .slice(0, 16);
}

/** Deterministic, compressible (about 3:1 under gzip) pseudo-random bytes. */
function blobContent(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  const words = Array.from({ length: 256 }, (_, i) =>
    createHash('sha256')
      .update(`${seed}/${String(i)}`)
      .digest('hex')
      .slice(0, 3 + (i % 9)),
  );
  let state = createHash('sha256').update(seed).digest();
  let pos = 0;
  let k = 0;
  while (pos < size) {
    if (k + 1 >= state.length) {
      state = createHash('sha256').update(state).digest();
      k = 0;
    }
    const w = words[state[k] ?? 0] ?? 'x';
    const r = state[k + 1] ?? 0;
    k += 2;
    pos += out.write(r < 16 ? `${w}\n` : r < 32 ? `${String(r)}\t` : `${w} `, pos);
  }
  return out;
}

async function applySpec(rootfs: string, f: FileSpec): Promise<void> {
  const p = join(rootfs, f.path);
  if (f.kind !== 'remove') await mkdir(dirname(p), { recursive: true });
  switch (f.kind) {
    case 'file':
      await writeFile(p, f.content);
      break;
    case 'blob':
      await writeFile(p, blobContent(f.size, f.seed));
      break;
    case 'dir':
      await mkdir(p, { recursive: true });
      break;
    case 'symlink':
      await symlink(f.target, p);
      break;
    case 'hardlink':
      await link(join(rootfs, f.target), p);
      return;
    case 'busybox':
      await copyFile('/bin/busybox', p);
      await chmod(p, 0o755);
      return;
    case 'remove':
      await rm(p, { recursive: true, force: true });
      return;
  }
  if (f.kind === 'blob') {
    if (f.mode !== undefined) await chmod(p, f.mode);
    return;
  }
  if (f.uid !== undefined || f.gid !== undefined) await chown(p, f.uid ?? 0, f.gid ?? 0);
  if (f.kind !== 'symlink' && f.mode !== undefined) await chmod(p, f.mode);
}

async function cached(
  key: string,
  build: (dir: string) => Promise<void>,
  cacheDir = OCI_IMAGE_CACHE,
): Promise<string> {
  const final = join(cacheDir, key);
  if (existsSync(join(final, 'index.json'))) return final;
  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(join(cacheDir, `.build-${key}-`));
  try {
    await build(work);
    await rename(join(work, 'layout'), final).catch((err: unknown) => {
      if (!existsSync(join(final, 'index.json'))) throw err;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return final;
}

/** Builds (or reuses) an OCI layout with tag `latest` for the recipe. */
export async function buildImage(recipe: ImageRecipe, cacheDir?: string): Promise<OciLayout> {
  const dir = await cached(
    `oci-${hashOf(recipe)}`,
    async (work) => {
      const layout = join(work, 'layout');
      const bundle = join(work, 'bundle');
      await sh(['umoci', 'init', '--layout', layout]);
      await sh(['umoci', 'new', '--image', `${layout}:latest`]);
      await sh(['umoci', 'unpack', '--image', `${layout}:latest`, bundle]);
      for (const layer of recipe.layers) {
        for (const f of layer) await applySpec(join(bundle, 'rootfs'), f);
        await sh(['umoci', 'repack', '--refresh-bundle', '--image', `${layout}:latest`, bundle]);
      }
      const cfg = [
        'umoci',
        'config',
        '--image',
        `${layout}:latest`,
        '--os',
        'linux',
        '--architecture',
        recipe.architecture ?? 'amd64',
      ];
      for (const c of recipe.cmd ?? ['/bin/sh']) cfg.push('--config.cmd', c);
      for (const e of recipe.entrypoint ?? []) cfg.push('--config.entrypoint', e);
      for (const e of recipe.env ?? []) cfg.push('--config.env', e);
      if (recipe.user !== undefined) cfg.push('--config.user', recipe.user);
      if (recipe.workingDir !== undefined) cfg.push('--config.workingdir', recipe.workingDir);
      await sh(cfg);
      await sh(['umoci', 'gc', '--layout', layout]);
    },
    cacheDir,
  );
  return { dir, tag: 'latest' };
}

/** The same image recompressed with zstd (skopeo oci → oci). */
export async function zstdVariant(src: OciLayout): Promise<OciLayout> {
  const dir = await cached(`oci-zstd-${hashOf(src)}`, async (work) => {
    await sh([
      'skopeo',
      'copy',
      '--dest-compress',
      '--dest-compress-format',
      'zstd',
      `oci:${src.dir}:${src.tag}`,
      `oci:${join(work, 'layout')}:latest`,
    ]);
  });
  return { dir, tag: 'latest' };
}

async function blobJson(layout: string, digest: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(layout, 'blobs', ...digest.split(':')), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** A multi-arch layout (tag `latest` → image index) from one image per `os/arch[/variant]`. */
export async function buildMultiArch(
  images: Readonly<Record<string, ImageRecipe>>,
): Promise<OciLayout> {
  const dir = await cached(`oci-multi-${hashOf(images)}`, async (work) => {
    const layout = join(work, 'layout');
    await sh(['umoci', 'init', '--layout', layout]);
    const manifests: unknown[] = [];
    for (const [platform, recipe] of Object.entries(images)) {
      const [os, architecture, variant] = platform.split('/');
      const img = await buildImage({ ...recipe, architecture: architecture ?? 'amd64' });
      await sh([
        'skopeo',
        'copy',
        `oci:${img.dir}:${img.tag}`,
        `oci:${layout}:${platform.replaceAll('/', '-')}`,
      ]);
      const idx = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
        manifests: Record<string, unknown>[];
      };
      const desc = idx.manifests.find(
        (m) =>
          (m['annotations'] as Record<string, string> | undefined)?.[
            'org.opencontainers.image.ref.name'
          ] === platform.replaceAll('/', '-'),
      );
      if (!desc) throw new Error('copied manifest not in index.json');
      await blobJson(layout, desc['digest'] as string);
      manifests.push({
        mediaType: desc['mediaType'],
        digest: desc['digest'],
        size: desc['size'],
        platform: { os, architecture, ...(variant ? { variant } : {}) },
      });
    }
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests,
      }),
    );
    const digest = createHash('sha256').update(index).digest('hex');
    await writeFile(join(layout, 'blobs', 'sha256', digest), index);
    const top = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
      manifests: unknown[];
    };
    top.manifests.push({
      mediaType: 'application/vnd.oci.image.index.v1+json',
      digest: `sha256:${digest}`,
      size: index.length,
      annotations: { 'org.opencontainers.image.ref.name': 'latest' },
    });
    await writeFile(join(layout, 'index.json'), JSON.stringify(top));
  });
  return { dir, tag: 'latest' };
}

export interface PushOptions {
  readonly encryptionKey?: string | undefined;
  readonly creds?: string | undefined;
  readonly all?: boolean | undefined;
}

/** `skopeo copy oci:DIR:TAG docker://HOST/NAME --dest-tls-verify=false` (encrypting with a jwe: key). */
export async function pushImage(
  layout: OciLayout,
  host: string,
  name: string,
  opts: PushOptions = {},
): Promise<void> {
  const argv = ['skopeo', 'copy', '--dest-tls-verify=false'];
  if (opts.encryptionKey) argv.push('--encryption-key', `jwe:${opts.encryptionKey}`);
  if (opts.creds) argv.push('--dest-creds', opts.creds);
  if (opts.all) argv.push('--all');
  argv.push(`oci:${layout.dir}:${layout.tag}`, `docker://${host}/${name}`);
  await sh(argv);
}

/** The reference rootfs: `skopeo copy [--decryption-key]` to an OCI layout, then `umoci unpack`. */
export async function referenceUnpack(
  host: string,
  name: string,
  into: string,
  opts: { decryptionKey?: string; creds?: string } = {},
): Promise<string> {
  const fetched = join(into, 'ref-fetched');
  const layout = join(into, 'ref-layout');
  const argv = ['skopeo', 'copy', '--src-tls-verify=false'];
  if (opts.decryptionKey) argv.push('--decryption-key', opts.decryptionKey);
  if (opts.creds) argv.push('--src-creds', opts.creds);
  argv.push(`docker://${host}/${name}`, `oci:${fetched}:ref`);
  await sh(argv);
  // umoci 0.4 cannot unpack zstd layers: recompress every layer to gzip first
  await sh([
    'skopeo',
    'copy',
    '--dest-compress',
    '--dest-compress-format',
    'gzip',
    `oci:${fetched}:ref`,
    `oci:${layout}:ref`,
  ]);
  await sh(['umoci', 'unpack', '--image', `${layout}:ref`, join(into, 'ref-bundle')]);
  return join(into, 'ref-bundle', 'rootfs');
}

/** RSA (2048) or EC (P-256) key pair as PEM files priv.pem / pub.pem in `dir`. */
export async function makeKeyPair(
  dir: string,
  type: 'rsa' | 'ec',
  name: string = type,
): Promise<{ priv: string; pub: string }> {
  const { privateKey, publicKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const priv = join(dir, `${name}-priv.pem`);
  const pub = join(dir, `${name}-pub.pem`);
  await writeFile(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  return { priv, pub };
}

export interface TreeEntry {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly sha256?: string;
  readonly target?: string;
  /** Paths sharing this file's inode (hard links), sorted, when more than one. */
  readonly links?: readonly string[];
}

async function fileHash(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Every entry under `root` with type, mode, owner, content hash, link target and hard-link group. */
export async function walkTree(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const inodes = new Map<number, string[]>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const p = join(root, r);
      const st = await lstat(p);
      const base = { path: r, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (st.isDirectory()) {
        out.push({ ...base, type: 'dir', size: 0 });
        await walk(r);
      } else if (st.isSymbolicLink())
        out.push({ ...base, type: 'symlink', size: 0, target: await readlink(p) });
      else if (st.isFile()) {
        if (st.nlink > 1) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), r]);
        out.push({ ...base, type: 'file', size: st.size, sha256: await fileHash(p) });
      } else out.push({ ...base, type: 'other', size: 0 });
    }
  };
  await walk('');
  const groupOf = new Map<string, string[]>();
  for (const g of inodes.values())
    if (g.length > 1) for (const p of g) groupOf.set(p, [...g].sort());
  return out.map((e) => {
    const links = groupOf.get(e.path);
    return links ? { ...e, links } : e;
  });
}

export async function tempDir(prefix = 'kata-cc-oci-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
