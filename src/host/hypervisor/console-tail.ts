import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { sleep } from '#src/lib/index.js';
import { HypervisorError } from './errors.js';

/** Terminal escape sequences (SeaBIOS writes some onto the console line). */
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b(?:\[[0-9;?]*[A-Za-z]|[A-Za-z])/g;

/** The last `lines` non-empty lines of a console log file (reads at most `maxBytes` from its end). */
export function readConsoleTail(path: string, lines: number, maxBytes = 65536): string[] {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf
      .toString('utf8')
      .replace(ESCAPES, '')
      .split(/\r?\n|\r/)
      .map((l) => l.trimEnd())
      .filter((l) => l.length > 0)
      .slice(-lines);
  } finally {
    closeSync(fd);
  }
}

/** True when `marker` occurs anywhere in the console log (markers may share a line with escapes). */
export function consoleContains(path: string, marker: string, maxBytes = 1 << 20): boolean {
  return readConsoleTail(path, Number.MAX_SAFE_INTEGER, maxBytes).some((l) => l.includes(marker));
}

export interface WaitForConsoleOptions {
  readonly signal?: AbortSignal | undefined;
  /** Settles when the VM is gone; the wait then fails instead of polling on. */
  readonly exited?: Promise<unknown> | undefined;
  readonly pollMs?: number | undefined;
}

/**
 * Polls the console log until a line contains `marker`; resolves with the milliseconds waited.
 * Rejects `unavailable` if `exited` settles first and with cancelled/deadline_exceeded on abort.
 */
export async function waitForConsoleMarker(
  path: string,
  marker: string,
  options: WaitForConsoleOptions = {},
): Promise<number> {
  const t0 = Date.now();
  const state = { gone: false };
  void options.exited?.then(
    () => (state.gone = true),
    () => (state.gone = true),
  );
  for (;;) {
    const wasGone = state.gone;
    if (consoleContains(path, marker)) return Date.now() - t0;
    if (wasGone) {
      throw new HypervisorError(
        'unavailable',
        'ERR_QEMU_EXITED',
        `the vm exited before its console showed ${JSON.stringify(marker)}; console: ${readConsoleTail(path, 6).join(' | ')}`,
      );
    }
    await sleep(options.pollMs ?? 50, options.signal);
  }
}
