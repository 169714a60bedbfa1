import { readFileSync } from 'node:fs';
import { expectArray, expectInt, expectObject, expectString } from '#src/lib/index.js';
import { GuestBuildError } from './errors.js';

export const GUEST_MANIFEST_VERSION = 1;

/** `.cache/guest/<inputsHash>/manifest.json`: what the host needs to boot the guest image. */
export interface GuestManifest {
  readonly version: number;
  /** Absolute paths of the artefacts. */
  readonly kernel: string;
  /** The same kernel as an uncompressed ELF with a PVH entry (booted by guests without a TEE). */
  readonly kernelPvh?: string | undefined;
  readonly initrd: string;
  /** erofs root with its dm-verity hash tree appended at `verityHashOffset`. */
  readonly rootfs: string;
  readonly verityRootHash: string;
  readonly verityHashOffset: number;
  readonly kernelRelease: string;
  /** Guest-specific kernel parameters (the host adds console, quiet and `kata.roothash=`). */
  readonly kernelParams: readonly string[];
  readonly builtAt: string;
  readonly inputsHash: string;
}

/** `.cache/guest/current.json`: the image the product uses. */
export interface CurrentPointer {
  readonly manifest: string;
  readonly inputsHash: string;
}

export function parseGuestManifest(raw: unknown, at = 'manifest'): GuestManifest {
  const o = expectObject(raw, at, [
    'version',
    'kernel',
    'kernelPvh',
    'initrd',
    'rootfs',
    'verityRootHash',
    'verityHashOffset',
    'kernelRelease',
    'kernelParams',
    'builtAt',
    'inputsHash',
    'inputs',
  ]);
  const version = expectInt(o['version'], `${at}.version`, { min: 1 });
  if (version !== GUEST_MANIFEST_VERSION) {
    throw new GuestBuildError(
      'failed_precondition',
      'ERR_GUEST_BUILD_MANIFEST',
      `${at}.version: ${version} is not ${GUEST_MANIFEST_VERSION}; rebuild with kata-cc guest build --force`,
    );
  }
  const verityRootHash = expectString(o['verityRootHash'], `${at}.verityRootHash`);
  if (!/^[0-9a-f]{64}$/.test(verityRootHash)) {
    throw new GuestBuildError(
      'invalid_argument',
      'ERR_GUEST_BUILD_MANIFEST',
      `${at}.verityRootHash: expected 64 hex digits`,
    );
  }
  return {
    version,
    kernel: expectString(o['kernel'], `${at}.kernel`),
    kernelPvh:
      o['kernelPvh'] === undefined ? undefined : expectString(o['kernelPvh'], `${at}.kernelPvh`),
    initrd: expectString(o['initrd'], `${at}.initrd`),
    rootfs: expectString(o['rootfs'], `${at}.rootfs`),
    verityRootHash,
    verityHashOffset: expectInt(o['verityHashOffset'], `${at}.verityHashOffset`, { min: 4096 }),
    kernelRelease: expectString(o['kernelRelease'], `${at}.kernelRelease`),
    kernelParams: expectArray(o['kernelParams'], `${at}.kernelParams`).map((p, i) =>
      expectString(p, `${at}.kernelParams[${i}]`),
    ),
    builtAt: expectString(o['builtAt'], `${at}.builtAt`),
    inputsHash: expectString(o['inputsHash'], `${at}.inputsHash`),
  };
}

export function readGuestManifest(path: string): GuestManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new GuestBuildError(
      'not_found',
      'ERR_GUEST_BUILD_MANIFEST',
      `cannot read guest manifest ${path}: run kata-cc guest build`,
      { cause: err },
    );
  }
  return parseGuestManifest(raw, path);
}
