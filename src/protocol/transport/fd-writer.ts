import { write } from 'node:fs';
import { isSystemError, sleep } from '#src/lib/index.js';

/** Writes all of `data` to `fd` (a device or socket fd), retrying short writes and EAGAIN. @internal */
export async function writeAll(fd: number, data: Uint8Array, signal?: AbortSignal): Promise<void> {
  let off = 0;
  let backoff = 1;
  while (off < data.length) {
    try {
      const n = await new Promise<number>((resolve, reject) => {
        write(fd, data, off, data.length - off, null, (err, written) => {
          if (err) reject(err);
          else resolve(written);
        });
      });
      off += n;
      backoff = 1;
    } catch (err) {
      if (!isSystemError(err, 'EAGAIN')) throw err;
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, 20);
    }
  }
}
