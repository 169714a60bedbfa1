import { closeSync, fstatSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  isAvailable,
  recvFd,
  sendFd,
  unavailableReason,
  unixAccept,
  unixListen,
  UNIX_PATH_MAX,
  type ReceivedFds,
} from '#native/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const built = isAvailable();
if (!built) console.log(`fd passing tests skipped: ${unavailableReason()}`);

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function listener(): { path: string; fd: number } {
  const dir = tmpdir('kcc-fdpass-');
  const path = join(dir.path, 's.sock');
  const fd = unixListen(path);
  cleanups.push(
    () => {
      dir.remove();
    },
    () => {
      closeSync(fd);
    },
  );
  return { path, fd };
}

function own(fd: number): number {
  cleanups.push(() => {
    closeSync(fd);
  });
  return fd;
}

/** Accepts and receives, polling as the production code does (non-blocking sockets). */
async function acceptAndReceive(listenFd: number): Promise<ReceivedFds> {
  let conn: number | undefined;
  for (let i = 0; i < 2000; i++) {
    conn ??= unixAccept(listenFd);
    if (conn !== undefined) {
      const got = recvFd(conn);
      if (got) {
        own(conn);
        for (const fd of got.fds) own(fd);
        return got;
      }
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error('nothing received');
}

describe('native fd passing (SCM_RIGHTS)', () => {
  test.skipIf(!built)('nothing pending: accept answers undefined instead of blocking', () => {
    expect(unixAccept(listener().fd)).toBeUndefined();
  });

  test.skipIf(!built)('a passed fd refers to the same open file', async () => {
    const l = listener();
    const dir = tmpdir('kcc-fdpass-file-');
    cleanups.push(() => {
      dir.remove();
    });
    const file = join(dir.path, 'f');
    writeFileSync(file, '');
    const fd = own(openSync(file, 'w'));
    sendFd(l.path, [fd], Buffer.from('/dev/pts/7'));
    const got = await acceptAndReceive(l.fd);
    expect(got.fds).toHaveLength(1);
    expect(got.data.toString()).toBe('/dev/pts/7');
    expect(got.eof).toBe(false);
    expect(got.truncated).toBe(false);
    const [received] = got.fds;
    expect(received).not.toBe(fd);
    expect(fstatSync(received!).ino).toBe(fstatSync(fd).ino);
    writeSync(received!, 'through the passed fd');
    expect(readFileSync(file, 'utf8')).toBe('through the passed fd');
  });

  test.skipIf(!built)('several fds and none are reported as they came', async () => {
    const l = listener();
    const a = own(openSync('/dev/null', 'r'));
    sendFd(l.path, [a, a, a], Buffer.from('x'));
    expect((await acceptAndReceive(l.fd)).fds).toHaveLength(3);
    sendFd(l.path, [], Buffer.from('only data'));
    const got = await acceptAndReceive(l.fd);
    expect(got.fds).toEqual([]);
    expect(got.data.toString()).toBe('only data');
  });

  test.skipIf(!built)('a peer that connects and closes reads as eof', async () => {
    const l = listener();
    await new Promise<void>((resolve, reject) => {
      const s = connect(l.path, () => {
        s.end();
        resolve();
      });
      s.once('error', reject);
    });
    const got = await acceptAndReceive(l.fd);
    expect(got).toMatchObject({ fds: [], eof: true });
  });

  test.skipIf(!built)('binding to a path in use fails with EADDRINUSE', () => {
    const l = listener();
    expect(() => unixListen(l.path)).toThrow(
      expect.objectContaining({ errnoCode: 'EADDRINUSE', kind: 'already_exists' }),
    );
  });

  test.skipIf(!built)('recvFd on something that is not a socket fails with ENOTSOCK', () => {
    const fd = own(openSync('/dev/null', 'r'));
    expect(() => recvFd(fd)).toThrow(
      expect.objectContaining({ errnoCode: 'ENOTSOCK', syscall: 'recvmsg' }),
    );
    expect(() => unixAccept(fd)).toThrow(expect.objectContaining({ errnoCode: 'ENOTSOCK' }));
  });

  test.skipIf(!built)('sending an fd that is not open fails with EBADF', async () => {
    const l = listener();
    const fd = 1_000_000; // above any open fd (a just-closed number could be reused by socket())
    expect(() => {
      sendFd(l.path, [fd], Buffer.from('x'));
    }).toThrow(expect.objectContaining({ errnoCode: 'EBADF', syscall: 'sendmsg' }));
    const got = await acceptAndReceive(l.fd);
    expect(got.eof).toBe(true);
  });

  test.skipIf(!built)('connecting to a path nobody listens on fails with ENOENT', () => {
    expect(() => {
      sendFd('/nonexistent/kcc.sock', [], Buffer.from('x'));
    }).toThrow(expect.objectContaining({ errnoCode: 'ENOENT', kind: 'not_found' }));
  });

  test.each([
    ['an empty path', ''],
    ['a path longer than sun_path', `/tmp/${'x'.repeat(UNIX_PATH_MAX)}`],
    ['a path with NUL', '/tmp/a\0b'],
  ])('rejects %s before any syscall', (_what, path) => {
    expect(() => unixListen(path)).toThrow(
      expect.objectContaining({ code: 'ERR_NATIVE_ARGUMENT' }),
    );
    expect(() => {
      sendFd(path, [], Buffer.from('x'));
    }).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_ARGUMENT' }));
  });

  test.each([
    ['17 fds', Array.from({ length: 17 }, () => 0), Buffer.from('x')],
    ['a negative fd', [-1], Buffer.from('x')],
    ['no data', [], Buffer.alloc(0)],
    ['too much data', [], Buffer.alloc(4097)],
  ])('sendFd rejects %s', (_what, fds, data) => {
    expect(() => {
      sendFd('/tmp/x.sock', fds, data);
    }).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_ARGUMENT' }));
  });

  test.each([-1, 1.5, 2 ** 31, Number.NaN])('accept and receive reject fd %s', (fd) => {
    expect(() => unixAccept(fd)).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_ARGUMENT' }));
    expect(() => recvFd(fd)).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_ARGUMENT' }));
  });
});
