import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { encodeCpioNewc } from '#guest/build/cpio-newc.js';

describe('encodeCpioNewc', () => {
  test('writes an archive GNU cpio lists with every member, type and target', () => {
    const archive = encodeCpioNewc([
      { type: 'dir', path: 'bin', mode: 0o755 },
      { type: 'file', path: 'init', mode: 0o755, data: Buffer.from('#!/bin/sh\necho hi\n') },
      { type: 'symlink', path: 'bin/sh', target: '/usr/bin/busybox' },
      { type: 'char', path: 'console', mode: 0o600, major: 5, minor: 1 },
      { type: 'file', path: 'odd', mode: 0o644, data: Buffer.from('x') },
    ]);
    expect(archive.length % 4).toBe(0);
    const r = spawnSync('cpio', ['-itv', '--quiet'], { input: archive, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => / (\S+(?: -> \S+)?)$/.exec(l)?.[1])).toEqual([
      'bin',
      'init',
      'bin/sh -> /usr/bin/busybox',
      'console',
      'odd',
    ]);
    expect(lines[3]).toMatch(/^crw-------/);
    expect(lines[1]).toMatch(/^-rwxr-xr-x/);
  });

  test('is reproducible', () => {
    const e = [{ type: 'file' as const, path: 'a', mode: 0o644, data: Buffer.from('1') }];
    expect(encodeCpioNewc(e).equals(encodeCpioNewc(e))).toBe(true);
  });

  test.each(['/abs', '../up', 'a/../b', ''])('refuses the member path %j', (path) => {
    expect(() => encodeCpioNewc([{ type: 'dir', path, mode: 0o755 }])).toThrow(
      expect.objectContaining({ code: 'ERR_GUEST_BUILD_INPUT' }),
    );
  });
});
