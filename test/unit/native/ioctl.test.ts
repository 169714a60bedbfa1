import { closeSync, openSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  SysError,
  ioc,
  ioctl,
  ior,
  iow,
  iowr,
  isAvailable,
  openPty,
  setWindowSize,
  unavailableReason,
  unixListen,
} from '#native/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const built = isAvailable();
if (!built) console.log(`ioctl tests skipped: ${unavailableReason()}`);

// <asm-generic/ioctls.h> and <linux/sockios.h>: legacy numbers without an encoded size
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
const SIOCGIFCONF = 0x8912;

const opened: number[] = [];
const dirs: { remove(): void }[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) closeSync(fd);
  for (const d of dirs.splice(0)) d.remove();
});

function pty(): { master: number; slave: number } {
  const p = openPty();
  opened.push(p.master, p.slave);
  return p;
}

describe('ioc request numbers', () => {
  test.each([
    // values from the kernel headers (linux/sev-guest.h, linux/tdx-guest.h, asm-generic/ioctl.h)
    ['SNP_GET_REPORT', iowr(0x53, 0, 32), 0xc0205300],
    ['SNP_GET_EXT_REPORT', iowr(0x53, 2, 32), 0xc0205302],
    ['TDX_CMD_GET_REPORT0', iowr(0x54, 1, 1088), 0xc4405401],
    ['FS_IOC_GETFLAGS', ior(0x66, 1, 8), 0x80086601],
    ['FS_IOC_SETFLAGS', iow(0x66, 2, 8), 0x40086602],
    ['_IO', ioc(0, 0xae, 0, 0), 0xae00],
  ])('%s is 0x%s', (_name, got, want) => {
    expect(got).toBe(want);
  });

  test('rejects a size the 14-bit field cannot hold', () => {
    expect(() => iowr(0x53, 0, 0x4000)).toThrow(
      expect.objectContaining({ code: 'ERR_NATIVE_ARGUMENT' }),
    );
  });
});

describe('native ioctl', () => {
  test.skipIf(!built)(
    'reads a struct out of the kernel in place (TIOCGWINSZ on a pty)',
    async () => {
      const p = pty();
      setWindowSize(p.master, 41, 137);
      const ws = Buffer.alloc(8, 0xff);
      expect(await ioctl(p.slave, TIOCGWINSZ, ws)).toBe(0);
      expect([ws.readUInt16LE(0), ws.readUInt16LE(2)]).toEqual([41, 137]);
    },
  );

  test.skipIf(!built)('writes a struct into the kernel (TIOCSWINSZ, read back)', async () => {
    const p = pty();
    const ws = Buffer.alloc(8);
    ws.writeUInt16LE(12, 0);
    ws.writeUInt16LE(345, 2);
    await ioctl(p.master, TIOCSWINSZ, ws);
    const back = Buffer.alloc(8);
    await ioctl(p.slave, TIOCGWINSZ, back);
    expect([back.readUInt16LE(0), back.readUInt16LE(2)]).toEqual([12, 345]);
  });

  test.skipIf(!built)(
    'points a struct field at a second buffer and zeroes it after (SIOCGIFCONF)',
    async () => {
      const dir = tmpdir();
      dirs.push(dir);
      const sock = unixListen(join(dir.path, 's'));
      opened.push(sock);
      const ifconf = Buffer.alloc(16, 0xaa); // int ifc_len; (pad); char *ifc_buf
      const names = Buffer.alloc(40 * 32); // struct ifreq[32]
      await ioctl(sock, SIOCGIFCONF, ifconf, {
        buffers: [names],
        pointers: [{ holder: 0, offset: 8, target: 1, lengthOffset: 0, lengthSize: 4 }],
      });
      const len = ifconf.readInt32LE(0);
      expect(len % 40).toBe(0);
      expect(ifconf.subarray(8, 16)).toEqual(Buffer.alloc(8)); // no address left behind
      const got = new Set<string>();
      for (let at = 0; at < len; at += 40) {
        const raw = names.subarray(at, at + 16);
        got.add(raw.subarray(0, raw.indexOf(0)).toString());
      }
      const want = Object.entries(networkInterfaces())
        .filter(([, addrs]) => addrs?.some((a) => a.family === 'IPv4'))
        .map(([n]) => n);
      expect([...got].sort()).toEqual([...new Set(want)].sort());
    },
  );

  test.skipIf(!built)('names the errno of a failed call (ENOTTY on a regular file)', async () => {
    const dir = tmpdir();
    dirs.push(dir);
    const fd = openSync(join(dir.path, 'f'), 'w+');
    opened.push(fd);
    const err = await ioctl(fd, TIOCGWINSZ, Buffer.alloc(8)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ errnoCode: 'ENOTTY', syscall: 'ioctl', kind: 'invalid_argument' });
    expect((err as Error).message).toMatch(/ioctl 0x5413 on fd \d+: ioctl: ENOTTY/);
  });

  test.skipIf(!built)('EBADF for a closed fd', async () => {
    const p = openPty();
    closeSync(p.master);
    closeSync(p.slave);
    await expect(ioctl(p.slave, TIOCGWINSZ, Buffer.alloc(8))).rejects.toMatchObject({
      errnoCode: 'EBADF',
    });
  });

  test.skipIf(!built)(
    'refuses an argument smaller than the size encoded in the request',
    async () => {
      const p = pty();
      await expect(ioctl(p.slave, iowr(0x54, 1, 1088), Buffer.alloc(1087))).rejects.toMatchObject({
        code: 'ERR_NATIVE_ARGUMENT',
      });
    },
  );

  test.each([
    ['holder out of range', { holder: 2, offset: 0, target: 1 }],
    ['target out of range', { holder: 0, offset: 0, target: 5 }],
    ['field past the end of its holder', { holder: 0, offset: 9, target: 1 }],
    ['length field past the end', { holder: 0, offset: 0, target: 1, lengthOffset: 14 }],
    ['self pointer', { holder: 1, offset: 0, target: 1 }],
    ['negative offset', { holder: 0, offset: -1, target: 1 }],
  ])('refuses a malformed pointer field: %s', async (_n, pointer) => {
    if (!built) return;
    const p = pty();
    await expect(
      ioctl(p.slave, TIOCGWINSZ, Buffer.alloc(16), {
        buffers: [Buffer.alloc(8)],
        pointers: [pointer],
      }),
    ).rejects.toMatchObject({ code: 'ERR_NATIVE_ARGUMENT' });
  });

  test.each([
    ['negative fd', -1, 0x5413],
    ['fractional request', 0, 1.5],
    ['request above u32', 0, 2 ** 32],
  ])('checks its arguments before the addon: %s', async (_n, fd, request) => {
    await expect(ioctl(fd, request, Buffer.alloc(8))).rejects.toMatchObject({
      code: 'ERR_NATIVE_ARGUMENT',
    });
  });
});
