import { statSync } from 'node:fs';
import { GuestBuildError } from './errors.js';
import { runTool } from './run-tool.js';

export interface VerityResult {
  /** Hex root hash to put on the kernel command line (`kata.roothash=`). */
  readonly rootHash: string;
  /** Byte offset of the hash tree (and its superblock) inside the combined image. */
  readonly hashOffset: number;
}

/** Parses `veritysetup format` output for the root hash. */
export function parseVerityFormat(text: string): string {
  const m = /^Root hash:\s+([0-9a-f]{64})\s*$/m.exec(text);
  if (m?.[1] === undefined) {
    throw new GuestBuildError(
      'internal',
      'ERR_GUEST_BUILD_TOOL',
      'veritysetup format printed no sha256 root hash',
    );
  }
  return m[1];
}

/**
 * Appends a dm-verity hash tree (sha256, 4 KiB blocks) to `image` in place: data first, then the
 * verity superblock and tree at the 4 KiB-aligned end of the data. Salt and UUID are given so the
 * result is reproducible.
 */
export async function appendVerity(
  image: string,
  salt: string,
  uuid: string,
  signal?: AbortSignal,
): Promise<VerityResult> {
  const hashOffset = statSync(image).size;
  if (hashOffset % 4096 !== 0) {
    throw new GuestBuildError(
      'internal',
      'ERR_GUEST_BUILD_INPUT',
      `${image} is not 4096-byte aligned`,
    );
  }
  const r = await runTool(
    'veritysetup',
    [
      'format',
      '--hash=sha256',
      '--data-block-size=4096',
      '--hash-block-size=4096',
      `--hash-offset=${hashOffset}`,
      `--salt=${salt}`,
      `--uuid=${uuid}`,
      image,
      image,
    ],
    { signal },
  );
  return { rootHash: parseVerityFormat(r.stdout), hashOffset };
}
