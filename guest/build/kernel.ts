import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GuestBuildError } from './errors.js';
import { runTool } from './run-tool.js';

/** The Debian metapackage whose dependency names the guest kernel. */
export const KERNEL_METAPACKAGE = 'linux-image-cloud-amd64';

/**
 * Guest kernel modules (CONFIG_*=m in Debian's cloud kernel) the initramfs loads; modprobe
 * --show-depends expands and orders them. Everything else we need is built in.
 */
export const GUEST_MODULES: readonly string[] = [
  'virtio_pci',
  'virtio_mmio',
  'virtio_console',
  'virtio_blk',
  'virtio_net',
  'vmw_vsock_virtio_transport',
  'dm-verity',
  'overlay',
  'crc32c-intel',
  'erofs',
  // encrypted, integrity-protected image storage (guest/image EncryptedScratchStore)
  'dm-crypt',
  'dm-integrity',
  'xts',
  'authenc',
  'algif_skcipher',
];

export interface KernelPackage {
  readonly name: string;
  readonly version: string;
  /** `uname -r` of the kernel, e.g. `6.1.0-57-cloud-amd64`. */
  readonly release: string;
}

export interface ExtractedKernel extends KernelPackage {
  /** Root of the extracted .deb (boot/, lib/modules/<release>/). */
  readonly root: string;
  readonly vmlinuz: string;
}

/** Parses `apt-cache depends <meta>` output into the versioned kernel image package name. */
export function parseKernelDepends(text: string): string {
  for (const line of text.split('\n')) {
    const m = /^\s*Depends:\s*(linux-image-\d\S*)\s*$/.exec(line);
    if (m?.[1] !== undefined) return m[1];
  }
  throw new GuestBuildError(
    'failed_precondition',
    'ERR_GUEST_BUILD_KERNEL',
    `apt-cache depends ${KERNEL_METAPACKAGE} names no linux-image-<version> package; run apt-get update`,
  );
}

/** Parses `apt-cache policy <pkg>` for the candidate version. */
export function parseCandidateVersion(text: string, pkg: string): string {
  const m = /^\s*Candidate:\s*(\S+)\s*$/m.exec(text);
  if (m?.[1] === undefined || m[1] === '(none)') {
    throw new GuestBuildError(
      'failed_precondition',
      'ERR_GUEST_BUILD_KERNEL',
      `no installable version of ${pkg}; run apt-get update`,
    );
  }
  return m[1];
}

/** Which kernel package and version the metapackage currently points to (no download). */
export async function resolveKernelPackage(signal?: AbortSignal): Promise<KernelPackage> {
  const deps = await runTool('apt-cache', ['depends', KERNEL_METAPACKAGE], { signal });
  const name = parseKernelDepends(deps.stdout);
  const policy = await runTool('apt-cache', ['policy', name], { signal });
  return {
    name,
    version: parseCandidateVersion(policy.stdout, name),
    release: name.replace(/^linux-image-/, ''),
  };
}

/**
 * Downloads the kernel .deb with `apt-get download` (never installs it on the host) and extracts it
 * with `dpkg-deb -x` into `<cacheDir>/kernel/<name>_<version>/`, then runs `depmod -b` there.
 * Reuses an earlier extraction.
 */
export async function fetchKernel(
  cacheDir: string,
  pkg: KernelPackage,
  progress: (line: string) => void,
  signal?: AbortSignal,
): Promise<ExtractedKernel> {
  const root = join(cacheDir, 'kernel', `${pkg.name}_${pkg.version}`);
  const vmlinuz = join(root, 'boot', `vmlinuz-${pkg.release}`);
  if (!existsSync(join(root, '.complete'))) {
    const debDir = join(cacheDir, 'debs');
    mkdirSync(debDir, { recursive: true });
    const debName = readdirSync(debDir).find(
      (f) =>
        f.startsWith(`${pkg.name}_`) &&
        f.endsWith('.deb') &&
        f.includes(pkg.version.replace(/:/g, '%3a')),
    );
    let deb = debName === undefined ? undefined : join(debDir, debName);
    if (deb === undefined) {
      progress(`downloading ${pkg.name}=${pkg.version}`);
      await runTool('apt-get', ['download', `${pkg.name}=${pkg.version}`], { cwd: debDir, signal });
      const got = readdirSync(debDir).find(
        (f) => f.startsWith(`${pkg.name}_`) && f.endsWith('.deb'),
      );
      if (got === undefined)
        throw new GuestBuildError(
          'internal',
          'ERR_GUEST_BUILD_KERNEL',
          `apt-get download ${pkg.name} produced no .deb in ${debDir}`,
        );
      deb = join(debDir, got);
    }
    progress(`extracting ${deb}`);
    const tmp = `${root}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await runTool('dpkg-deb', ['-x', deb, tmp], { signal });
    if (!existsSync(join(tmp, 'boot', `vmlinuz-${pkg.release}`))) {
      throw new GuestBuildError(
        'internal',
        'ERR_GUEST_BUILD_KERNEL',
        `${deb} holds no boot/vmlinuz-${pkg.release}`,
      );
    }
    await runTool('depmod', ['-b', tmp, pkg.release], { signal });
    rmSync(root, { recursive: true, force: true });
    renameSync(tmp, root);
    writeFileSync(join(root, '.complete'), `${pkg.name} ${pkg.version}\n`);
  }
  return { ...pkg, root, vmlinuz };
}

/** Parses `modprobe --show-depends` output into module paths relative to `modulesDir`, in load order. */
export function parseShowDepends(text: string, modulesDir: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^insmod\s+(\S+\.ko(?:\.xz|\.zst|\.gz)?)/.exec(line.trim());
    if (m?.[1] === undefined) continue;
    const prefix = modulesDir.endsWith('/') ? modulesDir : `${modulesDir}/`;
    if (!m[1].startsWith(prefix)) {
      throw new GuestBuildError(
        'internal',
        'ERR_GUEST_BUILD_KERNEL',
        `modprobe named a module outside ${modulesDir}: ${m[1]}`,
      );
    }
    out.push(m[1].slice(prefix.length));
  }
  return out;
}

/** The modules to load for `names`, dependencies first, each once, as paths under lib/modules/<release>/. */
export async function resolveModuleOrder(
  kernel: ExtractedKernel,
  names: readonly string[],
  signal?: AbortSignal,
): Promise<string[]> {
  const modulesDir = join(kernel.root, 'lib', 'modules', kernel.release);
  const order: string[] = [];
  for (const name of names) {
    const r = await runTool(
      'modprobe',
      ['-d', kernel.root, '-S', kernel.release, '--show-depends', name],
      { signal },
    );
    const paths = parseShowDepends(r.stdout, modulesDir);
    if (paths.length === 0) {
      throw new GuestBuildError(
        'internal',
        'ERR_GUEST_BUILD_KERNEL',
        `module ${name} is not a loadable module of ${kernel.release} (built in or missing)`,
      );
    }
    for (const p of paths) if (!order.includes(p)) order.push(p);
  }
  return order;
}
