import { openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { isSystemError, sleep, throwIfAborted } from '#src/lib/index.js';
import { GuestBuildError } from './errors.js';

export interface BuildLock {
  release(): void;
}

function holderAlive(path: string): boolean {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
  } catch {
    return true; // being written or just removed: look again
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isSystemError(err, 'ESRCH');
  }
}

/**
 * Takes an exclusive lock file (O_EXCL, holding our pid) so concurrent builds of the same image
 * wait for each other. A lock whose holder process is gone is broken.
 */
export async function acquireBuildLock(
  path: string,
  options: {
    readonly signal?: AbortSignal | undefined;
    readonly timeoutMs?: number;
    readonly onWait?: () => void;
  } = {},
): Promise<BuildLock> {
  const deadline = Date.now() + (options.timeoutMs ?? 20 * 60_000);
  let waited = false;
  for (;;) {
    throwIfAborted(options.signal, 'waiting for the guest build lock');
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          rmSync(path, { force: true });
        },
      };
    } catch (err) {
      if (!isSystemError(err, 'EEXIST')) throw err;
    }
    if (!holderAlive(path)) {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new GuestBuildError(
        'deadline_exceeded',
        'ERR_GUEST_BUILD_LOCK',
        `another guest build holds ${path}; remove it if no build is running`,
      );
    }
    if (!waited) options.onWait?.();
    waited = true;
    await sleep(500, options.signal);
  }
}
