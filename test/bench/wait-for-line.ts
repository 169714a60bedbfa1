import { closeSync, openSync, readSync } from 'node:fs';
import { sleep } from '#src/lib/index.js';

export interface WaitForLineOptions {
  readonly signal: AbortSignal;
  /** How often the file is read again; default 10 ms. */
  readonly pollMs?: number | undefined;
  /** Settles when the writer is gone: waiting then fails instead of running into the signal. */
  readonly gone?: Promise<unknown> | undefined;
  /** Named in the error. */
  readonly what: string;
}

export interface LineSeen {
  readonly line: string;
  /** performance.now() when the line was first seen. */
  readonly at: number;
}

/**
 * Waits until a line of `path` (which may not exist yet) satisfies `match`, reading only what the
 * file grew by since the last poll. Lines are matched whole; a line still being written waits.
 */
export async function waitForLine(
  path: string,
  match: (line: string) => boolean,
  o: WaitForLineOptions,
): Promise<LineSeen> {
  let offset = 0;
  let partial = '';
  const state = { gone: false };
  void o.gone?.then(
    () => (state.gone = true),
    () => (state.gone = true),
  );
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    const wasGone = state.gone;
    let fd: number | undefined;
    try {
      fd = openSync(path, 'r');
    } catch {
      fd = undefined;
    }
    if (fd !== undefined) {
      try {
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, offset);
          if (n === 0) break;
          offset += n;
          partial += buf.subarray(0, n).toString('utf8');
          let nl: number;
          while ((nl = partial.indexOf('\n')) >= 0) {
            const line = partial.slice(0, nl);
            partial = partial.slice(nl + 1);
            if (match(line)) return { line, at: performance.now() };
          }
        }
      } finally {
        closeSync(fd);
      }
    }
    if (wasGone) throw new Error(`${o.what}: the writer of ${path} is gone and it never came`);
    await sleep(o.pollMs ?? 10, o.signal);
  }
}
