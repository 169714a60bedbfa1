import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { NULL_LOGGER } from '#src/lib/index.js';
import { ConsoleSocket, ContainerProcess, type ProcessSpec } from '#guest/sandbox/index.js';
import { getWindowSize, isAvailable, openPty, sendFd, unavailableReason } from '#native/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const built = isAvailable();
if (!built) console.log(`terminal launch tests skipped: ${unavailableReason()}`);

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const SPEC: ProcessSpec = {
  args: ['/bin/sh'],
  env: [],
  cwd: '/',
  terminal: true,
  consoleSize: { rows: 33, cols: 101 },
  user: { uid: 0, gid: 0, additionalGids: [] },
  rlimits: [],
  noNewPrivileges: true,
};

/**
 * A launch whose "runtime" is a sleeping child; the test plays crun's part on the console
 * socket (`deliver`) and writes the pid file, so every hostile case can be staged.
 */
function stage(deliver: (socketPath: string) => void): {
  process: ContainerProcess;
  start: () => Promise<number>;
  socketPath: string;
} {
  const dir = tmpdir('kcc-launch-');
  cleanups.push(() => {
    dir.remove();
  });
  const pidFile = join(dir.path, 'pid');
  const socketPath = join(dir.path, 'tty', '1.sock');
  const p = new ContainerProcess({ containerId: 'c1', execId: 'e1', spec: SPEC, log: NULL_LOGGER });
  const start = (): Promise<number> =>
    p.start({
      spawn: () => {
        const console = ConsoleSocket.listen(socketPath);
        const child = spawn('sleep', ['30'], { stdio: 'ignore' });
        cleanups.push(() => {
          child.kill('SIGKILL');
        });
        deliver(socketPath);
        writeFileSync(pidFile, String(child.pid));
        return { child, console };
      },
      pidFile,
      readLog: () => Promise.resolve('runtime log line'),
      timeoutMs: 5_000,
    });
  return { process: p, start, socketPath };
}

describe.skipIf(!built)('ContainerProcess with a terminal (console socket plumbing)', () => {
  test('attaches the received master: output, input, initial size, resize, end of output', async () => {
    const pty = openPty();
    let slave = pty.slave;
    cleanups.push(() => {
      if (slave >= 0) closeSync(slave);
    });
    const s = stage((path) => {
      sendFd(path, [pty.master], Buffer.from(pty.name));
      closeSync(pty.master);
    });
    expect(await s.start()).toBeGreaterThan(0);
    expect(getWindowSize(slave)).toEqual({ rows: 33, cols: 101 });
    s.process.resize(50, 132);
    expect(getWindowSize(slave)).toEqual({ rows: 50, cols: 132 });
    await s.process.write(Buffer.from('typed\n'));
    const buf = Buffer.alloc(64);
    expect(buf.subarray(0, readSync(slave, buf)).toString()).toBe('typed\n');
    writeSync(slave, 'from the container\n');
    closeSync(slave);
    slave = -1;
    let out = '';
    for (;;) {
      try {
        out += (await s.process.read('stdout', 4096)).toString();
      } catch (err) {
        expect(err).toMatchObject({ code: 'ERR_SANDBOX_EOF' });
        break;
      }
    }
    expect(out).toContain('from the container\r\n');
    await expect(s.process.read('stderr', 10)).rejects.toMatchObject({ code: 'ERR_SANDBOX_EOF' });
    s.process.signal(9);
    expect((await s.process.wait()).status).toBe(137);
  });

  test.each([
    ['no fd', () => []],
    ['a file that is not a terminal', () => [openSync('/dev/null', 'r')]],
    [
      'two terminals',
      () => {
        const a = openPty();
        const b = openPty();
        return [a.master, b.master];
      },
    ],
  ])(
    'refuses %s from the runtime, kills it and reports the process stopped',
    async (_what, fds) => {
      const s = stage((path) => {
        const sent = fds();
        sendFd(path, sent, Buffer.from('x'));
        for (const fd of sent) closeSync(fd);
      });
      await expect(s.start()).rejects.toMatchObject({ code: 'ERR_SANDBOX_NO_TTY' });
      expect(s.process.state).toBe('stopped');
      expect(s.process.exitStatus?.status).toBe(137);
    },
  );

  test('a runtime that never sends the terminal fails the start after the timeout', async () => {
    const s = stage(() => undefined);
    await expect(s.start()).rejects.toMatchObject({
      code: 'ERR_SANDBOX_RUNTIME',
      message: expect.stringContaining('runtime log line') as unknown,
    });
    expect(s.process.state).toBe('stopped');
  }, 15_000);
});
