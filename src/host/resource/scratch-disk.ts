import { open, rm } from 'node:fs/promises';
import { ResourceError } from './errors.js';

/** virtio-blk serial of the per-sandbox scratch disk for guest-pulled images (guest/image). */
export const SCRATCH_DISK_SERIAL = 'kata-scratch';

/**
 * Creates the sparse raw scratch disk of a sandbox (`sizeMib`, no blocks allocated): the guest
 * formats it as LUKS2 + dm-integrity under a key of its own and unpacks pulled images there, so
 * the host only ever holds ciphertext in it.
 */
export async function createScratchDisk(path: string, sizeMib: number): Promise<string> {
  if (!Number.isInteger(sizeMib) || sizeMib < 64 || sizeMib > 1 << 20)
    throw new ResourceError(
      'invalid_argument',
      'ERR_RESOURCE_IMAGE',
      `scratch disk size ${String(sizeMib)} MiB is outside 64..1048576`,
    );
  let fh;
  try {
    fh = await open(path, 'wx', 0o600);
    await fh.truncate(sizeMib * (1 << 20));
  } catch (err) {
    if (fh !== undefined) {
      // only what this call created is removed, never a file that was there before
      await fh.close().catch(() => undefined);
      fh = undefined;
      await rm(path, { force: true }).catch(() => undefined);
    }
    throw new ResourceError(
      'internal',
      'ERR_RESOURCE_IMAGE',
      `cannot create the scratch disk ${path} (${String(sizeMib)} MiB): ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  } finally {
    await fh?.close();
  }
  return path;
}
