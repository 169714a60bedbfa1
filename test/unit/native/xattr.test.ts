import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  isAvailable,
  lgetxattr,
  llistxattr,
  lsetxattr,
  NativeError,
  SysError,
  unavailableReason,
} from '#native/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

/** Why user xattrs cannot be tested here, or '' when they can. */
function unsupported(): string {
  if (!isAvailable()) return unavailableReason();
  const d = tmpdir('kata-cc-xattr-probe-');
  try {
    writeFileSync(join(d.path, 'f'), '');
    lsetxattr(join(d.path, 'f'), 'user.probe', new Uint8Array([1]));
    return '';
  } catch (err) {
    return `the tmp filesystem does not take user xattrs: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    d.remove();
  }
}

const why = unsupported();
if (why !== '') console.log(`native xattr tests skipped: ${why}`);

let dir: { path: string; remove(): void };
beforeEach(() => {
  dir = tmpdir('kata-cc-xattr-');
});
afterEach(() => {
  dir.remove();
});

describe('native xattr functions', () => {
  test.skipIf(why !== '')('a binary value set is read back byte for byte and listed', () => {
    const f = join(dir.path, 'f');
    writeFileSync(f, '');
    const value = new Uint8Array([0, 0xff, 0x80, 0x0a, 0x3d, 0xc3, 0x28, 0]);
    lsetxattr(f, 'user.bin', value);
    lsetxattr(f, 'user.text', new TextEncoder().encode('héllo'));
    expect([...lgetxattr(f, 'user.bin')]).toEqual([...value]);
    expect(lgetxattr(f, 'user.text').toString('utf8')).toBe('héllo');
    expect(llistxattr(f).sort()).toEqual(['user.bin', 'user.text']);
    lsetxattr(f, 'user.bin', new Uint8Array(0));
    expect(lgetxattr(f, 'user.bin').length).toBe(0);
  });

  test.skipIf(why !== '')(
    'a missing attribute or path is not_found, naming path and attribute',
    () => {
      const f = join(dir.path, 'f');
      writeFileSync(f, '');
      let err: unknown;
      try {
        lgetxattr(f, 'user.none');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SysError);
      expect(err).toMatchObject({ kind: 'not_found', errnoCode: 'ENODATA', syscall: 'lgetxattr' });
      expect((err as Error).message).toContain(`user.none of ${f}`);
      expect(() => {
        lsetxattr(join(dir.path, 'nope'), 'user.x', new Uint8Array([1]));
      }).toThrow(expect.objectContaining({ kind: 'not_found', errnoCode: 'ENOENT' }));
    },
  );

  test.skipIf(why !== '')('a symlink is never followed', () => {
    const target = join(dir.path, 'target');
    const link = join(dir.path, 'link');
    writeFileSync(target, '');
    symlinkSync(target, link);
    // Linux refuses user.* on symlinks (EPERM); either way the target stays bare
    try {
      lsetxattr(link, 'user.x', new Uint8Array([1]));
    } catch (err) {
      expect(err).toMatchObject({ errnoCode: 'EPERM' });
    }
    expect(llistxattr(target)).toEqual([]);
  });

  test.skipIf(!isAvailable())('bad arguments are refused before the syscall', () => {
    expect(() => {
      lsetxattr('', 'user.x', new Uint8Array(0));
    }).toThrow(NativeError);
    expect(() => {
      lsetxattr('/x', 'user.\0x', new Uint8Array(0));
    }).toThrow(/without NUL/);
    expect(() => {
      lsetxattr('/x', 'user.x', new Uint8Array(65537));
    }).toThrow(/exceeds 65536/);
    expect(() => llistxattr('a\0b')).toThrow(NativeError);
  });
});
