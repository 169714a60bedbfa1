import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { expectArray, expectInt, expectObject, expectString } from '#src/lib/index.js';
import { HypervisorError } from './errors.js';
import type { TeeSpec, VmSpec } from './vm-spec.js';

/**
 * The guest image as the host boots it: the `manifest.json` written by `kata-cc guest build`
 * (guest/build). Read here because src/host never imports guest/; the format is in README.md.
 */
export interface GuestImage {
  readonly manifestPath: string;
  /** The bzImage (what TDVF / OVMF boot and measure). */
  readonly kernel: string;
  /** The same kernel as a PVH-bootable ELF, when the image has one (manifest key `kernelPvh`). */
  readonly kernelPvh: string | undefined;
  readonly initrd: string;
  readonly rootfs: string;
  readonly verityRootHash: string;
  readonly kernelRelease: string;
  readonly kernelParams: readonly string[];
  readonly inputsHash: string;
}

export const GUEST_IMAGE_MANIFEST_VERSION = 1;

function imageError(
  kind: 'not_found' | 'invalid_argument' | 'failed_precondition',
  message: string,
  cause?: unknown,
): HypervisorError {
  return new HypervisorError(
    kind,
    'ERR_VM_SPEC',
    message,
    cause === undefined ? undefined : { cause },
  );
}

export function parseGuestImageManifest(raw: unknown, manifestPath: string): GuestImage {
  const at = manifestPath;
  const o = expectObject(raw, at);
  const version = expectInt(o['version'], `${at}.version`, { min: 1 });
  if (version !== GUEST_IMAGE_MANIFEST_VERSION) {
    throw imageError(
      'failed_precondition',
      `${at}: manifest version ${version} is not ${GUEST_IMAGE_MANIFEST_VERSION}; run kata-cc guest build --force`,
    );
  }
  // relative file names are relative to the manifest, so a cache folder can move
  const file = (k: string): string => {
    const v = expectString(o[k], `${at}.${k}`);
    return isAbsolute(v) ? v : resolve(dirname(manifestPath), v);
  };
  const verityRootHash = expectString(o['verityRootHash'], `${at}.verityRootHash`);
  if (!/^[0-9a-f]{64}$/.test(verityRootHash))
    throw imageError('invalid_argument', `${at}.verityRootHash: expected 64 hex digits`);
  return {
    manifestPath,
    kernel: file('kernel'),
    kernelPvh: o['kernelPvh'] === undefined ? undefined : file('kernelPvh'),
    initrd: file('initrd'),
    rootfs: file('rootfs'),
    verityRootHash,
    kernelRelease: expectString(o['kernelRelease'], `${at}.kernelRelease`),
    kernelParams: expectArray(o['kernelParams'], `${at}.kernelParams`).map((p, i) =>
      expectString(p, `${at}.kernelParams[${i}]`),
    ),
    inputsHash: expectString(o['inputsHash'], `${at}.inputsHash`),
  };
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw imageError(
      'not_found',
      `cannot read ${what} ${path}: run kata-cc guest build (after npm run build)`,
      err,
    );
  }
}

/**
 * The guest image to boot: `manifestPath` when given (config `guest.manifest`), else the build
 * cache of the checkout (`<projectRoot>/.cache/guest/current.json`).
 */
export function locateGuestImage(options: {
  readonly manifestPath?: string | undefined;
  readonly projectRoot: string;
}): GuestImage {
  if (options.manifestPath !== undefined && options.manifestPath !== '') {
    return parseGuestImageManifest(
      readJson(options.manifestPath, 'guest manifest'),
      options.manifestPath,
    );
  }
  const pointerPath = join(options.projectRoot, '.cache', 'guest', 'current.json');
  const pointer = expectObject(readJson(pointerPath, 'guest image pointer'), pointerPath);
  const named = expectString(pointer['manifest'], `${pointerPath}.manifest`);
  const manifestPath = isAbsolute(named) ? named : resolve(dirname(pointerPath), named);
  return parseGuestImageManifest(readJson(manifestPath, 'guest manifest'), manifestPath);
}

/**
 * The kernel file a guest boots: the PVH ELF for a guest without a TEE when the image has one (QEMU
 * loads it directly, skipping the bzImage decompressor: about a second of CPU under TCG), else the
 * bzImage, which TDX and SNP guests always boot (their firmware loads and measures it).
 */
export function bootKernel(image: GuestImage, tee: Pick<TeeSpec, 'kind'>): string {
  return tee.kind === 'none' && image.kernelPvh !== undefined ? image.kernelPvh : image.kernel;
}

/** The VmSpec fields that come from the guest image. */
export function imageVmSpecPart(
  image: GuestImage,
  tee: Pick<TeeSpec, 'kind'>,
): Pick<VmSpec, 'kernel' | 'initrd' | 'rootDisk' | 'kernelParams'> {
  return {
    kernel: bootKernel(image, tee),
    initrd: image.initrd,
    rootDisk: { path: image.rootfs, verityRootHash: image.verityRootHash },
    kernelParams: image.kernelParams,
  };
}
