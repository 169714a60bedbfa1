/**
 * Container images built locally (there is no Docker Hub here): busybox-static in an OCI layout made
 * with umoci, tarred, cached under `.cache/test-images/`, and imported into a test containerd.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  symlinkSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Containerd } from './containerd.js';
import { run } from './containerd.js';
import { PROJECT_ROOT } from './source-files.js';

export const TEST_IMAGE_CACHE = join(PROJECT_ROOT, '.cache', 'test-images');
export const BUSYBOX_IMAGE = 'localhost/busybox:latest';
export const PAUSE_IMAGE = 'localhost/pause:3.9';

interface ImageRecipe {
  readonly name: string;
  readonly tag: string;
  readonly cmd: readonly string[];
  readonly entrypoint?: readonly string[];
}

async function must(argv: readonly string[]): Promise<void> {
  const r = await run(argv, { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
}

/** The applets busybox-static provides, as symlinks in rootfs/bin. */
export async function installBusybox(rootfs: string): Promise<void> {
  const bin = join(rootfs, 'bin');
  mkdirSync(bin, { recursive: true });
  copyFileSync('/usr/bin/busybox', join(bin, 'busybox'));
  const list = await run(['/usr/bin/busybox', '--list'], { timeoutMs: 10_000 });
  for (const applet of list.stdout.split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a))) {
    if (applet === 'busybox' || existsSync(join(bin, applet))) continue;
    symlinkSync('busybox', join(bin, applet));
  }
  for (const d of ['etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'var', 'usr']) {
    mkdirSync(join(rootfs, d), { recursive: true });
  }
}

/** Builds (or reuses from the cache) an image tarball; returns its path. */
async function buildImage(recipe: ImageRecipe): Promise<string> {
  const out = join(TEST_IMAGE_CACHE, `${recipe.name}-${recipe.tag}.tar`);
  if (existsSync(out)) return out;
  mkdirSync(TEST_IMAGE_CACHE, { recursive: true });
  const work = mkdtempSync(join(TEST_IMAGE_CACHE, `.build-${recipe.name}-`));
  try {
    const layout = join(work, 'layout');
    const bundle = join(work, 'bundle');
    const image = `${layout}:${recipe.tag}`;
    await must(['umoci', 'init', '--layout', layout]);
    await must(['umoci', 'new', '--image', image]);
    await must(['umoci', 'unpack', '--rootless', '--image', image, bundle]);
    await installBusybox(join(bundle, 'rootfs'));
    await must(['umoci', 'repack', '--image', image, bundle]);
    const config = [
      'umoci',
      'config',
      '--image',
      image,
      '--os',
      'linux',
      '--architecture',
      'amd64',
    ];
    for (const c of recipe.cmd) config.push('--config.cmd', c);
    for (const e of recipe.entrypoint ?? []) config.push('--config.entrypoint', e);
    config.push('--config.env', 'PATH=/bin:/usr/bin:/sbin:/usr/sbin', '--config.workingdir', '/');
    await must(config);
    await must(['umoci', 'gc', '--layout', layout]);
    const tmpTar = join(work, 'image.tar');
    await must(['tar', '-C', layout, '-cf', tmpTar, ...readdirSync(layout)]);
    renameSync(tmpTar, out); // atomic: parallel builders race harmlessly
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** busybox-static as `localhost/busybox:latest` (cmd `sh`). */
export function buildBusyboxImage(): Promise<string> {
  return buildImage({ name: 'busybox', tag: 'latest', cmd: ['sh'] });
}

/** A pause image made of busybox: sleeps until SIGTERM/SIGINT. */
export function buildPauseImage(): Promise<string> {
  return buildImage({
    name: 'pause',
    tag: '3.9',
    entrypoint: ['/bin/sh', '-c', "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"],
    cmd: [],
  });
}

export interface ImportImageOptions {
  /** `localhost/busybox` → the image is named `localhost/busybox:<tag of the layout>`. */
  readonly baseName: string;
  readonly namespace?: string;
}

export async function importImage(
  containerd: Pick<Containerd, 'ctr'>,
  tarPath: string,
  options: ImportImageOptions,
): Promise<void> {
  const r = await containerd.ctr(
    ['images', 'import', '--base-name', options.baseName, '--digests', tarPath],
    { namespace: options.namespace ?? 'default', timeoutMs: 300_000 },
  );
  if (r.code !== 0) throw new Error(`ctr images import ${tarPath} failed: ${r.stderr}`);
}

/** Builds and imports busybox into `namespace` (default `default`); returns the image reference. */
export async function importBusybox(
  containerd: Pick<Containerd, 'ctr'>,
  namespace = 'default',
): Promise<string> {
  await importImage(containerd, await buildBusyboxImage(), {
    baseName: 'localhost/busybox',
    namespace,
  });
  return BUSYBOX_IMAGE;
}

/** An OCI bundle (config.json + busybox rootfs) for driving a shim without containerd. */
export async function makeBusyboxBundle(
  dir: string,
  args: readonly string[],
  annotations: Readonly<Record<string, string>> = {},
): Promise<string> {
  const { writeFileSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  await installBusybox(join(dir, 'rootfs'));
  const spec = {
    ociVersion: '1.0.2',
    process: { terminal: false, user: { uid: 0, gid: 0 }, args, env: ['PATH=/bin'], cwd: '/' },
    root: { path: 'rootfs', readonly: false },
    hostname: 'bundle',
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc', options: [] }],
    annotations,
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }, { type: 'ipc' }] },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return dir;
}
