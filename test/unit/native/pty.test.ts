import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { afterEach, describe, expect, test } from 'vitest';
import {
  getWindowSize,
  isAvailable,
  openPty,
  setWindowSize,
  unavailableReason,
} from '#native/index.js';

const built = isAvailable();
if (!built) console.log(`pty tests skipped: ${unavailableReason()}`);

const opened: number[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) closeSync(fd);
});

function pty(): { master: number; slave: number; name: string } {
  const p = openPty();
  opened.push(p.master, p.slave);
  return p;
}

describe('native pty functions', () => {
  test.skipIf(!built)('openPty gives a master and a slave that are terminals', () => {
    const p = pty();
    expect(p.name).toMatch(/^\/dev\/pts\/\d+$/);
    expect(isatty(p.master)).toBe(true);
    expect(isatty(p.slave)).toBe(true);
    writeSync(p.slave, 'ping\n');
    const buf = Buffer.alloc(64);
    const n = readSync(p.master, buf);
    expect(buf.subarray(0, n).toString()).toBe('ping\r\n');
  });

  test.skipIf(!built)('the size set on the master is the size the slave sees', () => {
    const p = pty();
    setWindowSize(p.master, 33, 101);
    expect(getWindowSize(p.slave)).toEqual({ rows: 33, cols: 101 });
    setWindowSize(p.master, 65535, 0);
    expect(getWindowSize(p.slave)).toEqual({ rows: 65535, cols: 0 });
  });

  test.each([
    ['rows above u16', 3, 65536, 80],
    ['negative cols', 3, 24, -1],
    ['fractional rows', 3, 24.5, 80],
    ['NaN cols', 3, 24, Number.NaN],
    ['a huge window', 3, 2 ** 32, 2 ** 32],
    ['a negative fd', -1, 24, 80],
    ['an fd beyond i32', 2 ** 31, 24, 80],
  ])('setWindowSize rejects %s before any syscall', (_what, fd, rows, cols) => {
    expect(() => {
      setWindowSize(fd, rows, cols);
    }).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_ARGUMENT', kind: 'invalid_argument' }));
  });

  test.skipIf(!built)('setWindowSize on a file that is not a terminal fails with ENOTTY', () => {
    const fd = openSync('/dev/null', 'r');
    opened.push(fd);
    expect(() => {
      setWindowSize(fd, 24, 80);
    }).toThrow(
      expect.objectContaining({
        code: 'ERR_NATIVE_SYSCALL',
        errnoCode: 'ENOTTY',
        syscall: 'ioctl',
        kind: 'invalid_argument',
      }),
    );
    expect(() => getWindowSize(fd)).toThrow(expect.objectContaining({ errnoCode: 'ENOTTY' }));
  });

  test.skipIf(!built)('a closed fd fails with EBADF', () => {
    const p = openPty();
    closeSync(p.master);
    closeSync(p.slave);
    expect(() => {
      setWindowSize(p.master, 24, 80);
    }).toThrow(expect.objectContaining({ errnoCode: 'EBADF', kind: 'invalid_argument' }));
  });
});
