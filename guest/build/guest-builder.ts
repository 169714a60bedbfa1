import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { GuestBuildError } from './errors.js';
import { acquireBuildLock } from './build-lock.js';
import { pruneImageCache } from './cache-prune.js';
import {
  GUEST_BUILDER_VERSION,
  hashAgentDir,
  hashHostFiles,
  inputsHash,
  sha256Hex,
  type BuildInputs,
} from './build-inputs.js';
import { buildInitramfs } from './initramfs.js';
import { extractPvhKernel } from './kernel-pvh.js';
import { codeCacheFlags, writeCodeCache } from './code-cache.js';
import { GUEST_AGENT_ENTRY, renderInitScript } from './init-script.js';
import {
  fetchKernel,
  GUEST_MODULES,
  resolveKernelPackage,
  resolveModuleOrder,
  type ExtractedKernel,
} from './kernel.js';
import {
  GUEST_MANIFEST_VERSION,
  readGuestManifest,
  type CurrentPointer,
  type GuestManifest,
} from './manifest.js';
import { GUEST_NATIVE_ADDON, IMAGE_STORE_TOOLS, makeErofs, stageRootfs } from './rootfs.js';
import { HOST_BUSYBOX } from './stage-tree.js';
import { appendVerity } from './verity.js';

export interface BuildGuestImageOptions {
  readonly projectRoot: string;
  /** Default `<projectRoot>/.cache/guest`. */
  readonly cacheDir?: string | undefined;
  /** Folder installed as /opt/kata-cc/ in the guest; must hold kata-agent.mjs. Default `<projectRoot>/dist/guest`. */
  readonly agentDir?: string | undefined;
  /** Host node binary copied into the guest. Default: the running node. */
  readonly nodeBinary?: string | undefined;
  /** Extra node flags the init passes to the agent. */
  readonly nodeFlags?: readonly string[] | undefined;
  /** Rebuild even if the cache holds this image. */
  readonly force?: boolean | undefined;
  /** Point `current.json` at the result. Default: true for the default agent folder only. */
  readonly updateCurrent?: boolean | undefined;
  readonly progress?: ((line: string) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface GuestBuildResult {
  readonly manifestPath: string;
  readonly manifest: GuestManifest;
  /** False when the cached image was reused. */
  readonly built: boolean;
}

const HOST_TOOLS_IN_GUEST = [
  HOST_BUSYBOX,
  '/usr/sbin/veritysetup',
  '/usr/bin/crun',
  ...IMAGE_STORE_TOOLS.map((t) => t.host),
];

/**
 * Builds the guest image (kernel, initramfs, dm-verity erofs root) into
 * `<cacheDir>/<inputsHash>/`, or reuses it when the inputs are unchanged. See README.md.
 */
export async function buildGuestImage(options: BuildGuestImageOptions): Promise<GuestBuildResult> {
  const { signal } = options;
  const progress = options.progress ?? ((): void => undefined);
  const cacheDir = resolve(options.cacheDir ?? join(options.projectRoot, '.cache', 'guest'));
  const defaultAgentDir = join(options.projectRoot, 'dist', 'guest');
  const agentDir = resolve(options.agentDir ?? defaultAgentDir);
  if (!existsSync(join(agentDir, GUEST_AGENT_ENTRY.split('/').pop() ?? ''))) {
    throw new GuestBuildError(
      'failed_precondition',
      'ERR_GUEST_BUILD_INPUT',
      `the guest agent bundle ${join(agentDir, 'kata-agent.mjs')} is missing: run npm run build first`,
    );
  }
  if (agentDir === resolve(defaultAgentDir) && !existsSync(join(agentDir, GUEST_NATIVE_ADDON))) {
    throw new GuestBuildError(
      'failed_precondition',
      'ERR_GUEST_BUILD_INPUT',
      `the native addon ${join(agentDir, GUEST_NATIVE_ADDON)} is missing (the guest needs it for terminals): run npm run build (it builds native/ with node-gyp)`,
    );
  }
  const nodeBinary = options.nodeBinary ?? process.execPath;
  const nodeFlags = [...(options.nodeFlags ?? []), ...codeCacheFlags(agentDir)];
  const initScript = renderInitScript({ nodeFlags });
  mkdirSync(cacheDir, { recursive: true });
  const pkg = await resolveKernelPackage(signal);
  const kernel = await fetchKernel(cacheDir, pkg, progress, signal);
  const modules = await resolveModuleOrder(kernel, GUEST_MODULES, signal);
  const inputs: BuildInputs = {
    builderVersion: GUEST_BUILDER_VERSION,
    kernel: pkg,
    modules,
    initScriptSha256: sha256Hex(initScript),
    hostFiles: await hashHostFiles([nodeBinary, ...HOST_TOOLS_IN_GUEST], signal),
    agentFiles: hashAgentDir(agentDir),
    nodeFlags,
  };
  const hash = inputsHash(inputs);
  const outDir = join(cacheDir, hash);
  const manifestPath = join(outDir, 'manifest.json');
  const lock = await acquireBuildLock(join(cacheDir, `${hash}.lock`), {
    signal,
    onWait: () => {
      progress('waiting for another build of the same image');
    },
  });
  try {
    let built = false;
    if (options.force === true || !existsSync(manifestPath)) {
      progress(`building guest image ${hash}`);
      await buildInto({
        outDir,
        hash,
        kernel,
        modules,
        initScript,
        agentDir,
        nodeBinary,
        inputs,
        progress,
        signal,
      });
      built = true;
    } else {
      progress(`guest image ${hash} is cached`);
      const now = new Date();
      utimesSync(manifestPath, now, now); // recently used: pruning keeps it
    }
    const manifest = readGuestManifest(manifestPath);
    if (options.updateCurrent ?? agentDir === resolve(defaultAgentDir)) {
      const pointer: CurrentPointer = { manifest: manifestPath, inputsHash: hash };
      writeFileSync(
        join(cacheDir, `current.json.tmp-${process.pid}`),
        JSON.stringify(pointer, null, 2) + '\n',
      );
      renameSync(join(cacheDir, `current.json.tmp-${process.pid}`), join(cacheDir, 'current.json'));
    }
    if (built) {
      const removed = pruneImageCache(
        cacheDir,
        [hash, currentHash(cacheDir)].filter((h) => h !== undefined),
      );
      if (removed.length > 0) progress(`pruned old images: ${removed.join(', ')}`);
    }
    return { manifestPath, manifest, built };
  } finally {
    lock.release();
  }
}

function currentHash(cacheDir: string): string | undefined {
  try {
    const raw = JSON.parse(readFileSync(join(cacheDir, 'current.json'), 'utf8')) as {
      inputsHash?: unknown;
    };
    return typeof raw.inputsHash === 'string' ? raw.inputsHash : undefined;
  } catch {
    return undefined;
  }
}

interface BuildIntoOptions {
  readonly outDir: string;
  readonly hash: string;
  readonly kernel: ExtractedKernel;
  readonly modules: readonly string[];
  readonly initScript: string;
  readonly agentDir: string;
  readonly nodeBinary: string;
  readonly inputs: BuildInputs;
  readonly progress: (line: string) => void;
  readonly signal?: AbortSignal | undefined;
}

/** A UUID-shaped string derived from the inputs hash, for reproducible erofs/verity UUIDs. */
function uuidOf(hex: string): string {
  const h = sha256Hex(hex);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

async function buildInto(o: BuildIntoOptions): Promise<void> {
  const tmp = `${o.outDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const t0 = Date.now();
    o.progress('staging the initramfs');
    await buildInitramfs({
      stage: join(tmp, 'initramfs-stage'),
      kernel: o.kernel,
      modules: o.modules,
      initScript: o.initScript,
      out: join(tmp, 'initrd.img'),
      signal: o.signal,
    });
    o.progress('staging the root filesystem');
    await stageRootfs({
      stage: join(tmp, 'rootfs-stage'),
      nodeBinary: o.nodeBinary,
      agentDir: o.agentDir,
      signal: o.signal,
    });
    const cacheBytes = await writeCodeCache({
      stage: join(tmp, 'rootfs-stage'),
      nodeBinary: o.nodeBinary,
      nodeFlags: o.inputs.nodeFlags,
      signal: o.signal,
    });
    if (cacheBytes !== undefined) o.progress(`agent code cache: ${cacheBytes} bytes`);
    o.progress('making the erofs root');
    await makeErofs(join(tmp, 'rootfs-stage'), join(tmp, 'root.img'), uuidOf(o.hash), o.signal);
    o.progress('appending the dm-verity hash tree');
    const verity = await appendVerity(
      join(tmp, 'root.img'),
      sha256Hex(`salt:${o.hash}`),
      uuidOf(`verity:${o.hash}`),
      o.signal,
    );
    copyFileSync(o.kernel.vmlinuz, join(tmp, 'vmlinuz'));
    const pvh = extractPvhKernel(readFileSync(o.kernel.vmlinuz));
    if (pvh.kind === 'pvh') writeFileSync(join(tmp, 'vmlinux'), pvh.vmlinux);
    else o.progress(`no PVH kernel (${pvh.reason}): guests boot the bzImage`);
    rmSync(join(tmp, 'initramfs-stage'), { recursive: true, force: true });
    rmSync(join(tmp, 'rootfs-stage'), { recursive: true, force: true });
    const manifest: GuestManifest & { inputs: BuildInputs } = {
      version: GUEST_MANIFEST_VERSION,
      kernel: join(o.outDir, 'vmlinuz'),
      ...(pvh.kind === 'pvh' ? { kernelPvh: join(o.outDir, 'vmlinux') } : {}),
      initrd: join(o.outDir, 'initrd.img'),
      rootfs: join(o.outDir, 'root.img'),
      verityRootHash: verity.rootHash,
      verityHashOffset: verity.hashOffset,
      kernelRelease: o.kernel.release,
      kernelParams: [`kata.hashoffset=${verity.hashOffset}`],
      builtAt: new Date().toISOString(),
      inputsHash: o.hash,
      inputs: o.inputs,
    };
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    rmSync(o.outDir, { recursive: true, force: true });
    renameSync(tmp, o.outDir);
    o.progress(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${o.outDir}`);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
