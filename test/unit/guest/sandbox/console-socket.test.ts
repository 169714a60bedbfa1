import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ConsoleSocket } from '#guest/sandbox/index.js';
import { isAvailable, openPty, sendFd, unavailableReason } from '#native/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const built = isAvailable();
if (!built) console.log(`console socket tests skipped: ${unavailableReason()}`);

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function socket(): ConsoleSocket {
  const dir = tmpdir('kcc-console-');
  cleanups.push(() => {
    dir.remove();
  });
  const s = ConsoleSocket.listen(join(dir.path, 'tty', '1.sock'));
  cleanups.push(() => {
    s.close();
  });
  return s;
}

function fd(path: string, flags = 'r'): number {
  const n = openSync(path, flags);
  cleanups.push(() => {
    closeSync(n);
  });
  return n;
}

async function pollUntil(s: ConsoleSocket): Promise<number> {
  for (let i = 0; i < 1000; i++) {
    const got = s.poll();
    if (got !== undefined) return got;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error('no terminal arrived');
}

describe.skipIf(!built)('ConsoleSocket (the --console-socket receiver)', () => {
  test('receives a pty master as crun sends it, then removes the socket', async () => {
    const s = socket();
    expect(s.poll()).toBeUndefined();
    const pty = openPty();
    cleanups.push(() => {
      closeSync(pty.slave);
    });
    sendFd(s.path, [pty.master], Buffer.from(pty.name));
    closeSync(pty.master);
    const master = await pollUntil(s);
    cleanups.push(() => {
      closeSync(master);
    });
    expect(isatty(master)).toBe(true);
    expect(existsSync(s.path)).toBe(false);
    expect(() => s.poll()).toThrow(expect.objectContaining({ kind: 'failed_precondition' }));
  });

  test('replaces a stale file at its path', () => {
    const dir = tmpdir('kcc-console-');
    cleanups.push(() => {
      dir.remove();
    });
    const path = join(dir.path, 'stale.sock');
    writeFileSync(path, 'left over');
    const s = ConsoleSocket.listen(path);
    s.close();
    s.close();
    expect(existsSync(path)).toBe(false);
  });

  test.each([
    ['no file descriptor', () => [], /carried no file descriptor/],
    [
      'two file descriptors',
      () => [fd('/dev/null'), fd('/dev/null')],
      /carried 2 file descriptors/,
    ],
    ['a file that is not a terminal', () => [fd('/dev/null')], /not a terminal/],
  ])('refuses a message with %s and closes what came', async (_what, fds, message) => {
    const s = socket();
    sendFd(s.path, fds(), Buffer.from('/dev/pts/0'));
    await expect(pollUntil(s)).rejects.toMatchObject({
      code: 'ERR_SANDBOX_NO_TTY',
      message: expect.stringMatching(message) as unknown,
    });
    expect(existsSync(s.path)).toBe(false);
  });

  test('a peer that closes without sending is an error, not a hang', async () => {
    const s = socket();
    const { connect } = await import('node:net');
    await new Promise<void>((resolve) => {
      const c = connect(s.path, () => {
        c.end();
        resolve();
      });
    });
    await expect(pollUntil(s)).rejects.toMatchObject({
      message: expect.stringMatching(/closed the console socket/) as unknown,
    });
  });

  test('a path too long for a unix socket fails with a clear error', () => {
    expect(() => ConsoleSocket.listen(`/tmp/${'d'.repeat(120)}/1.sock`)).toThrow(
      expect.objectContaining({
        code: 'ERR_SANDBOX_NO_TTY',
        message: expect.stringMatching(/107 bytes/) as unknown,
      }),
    );
  });
});
