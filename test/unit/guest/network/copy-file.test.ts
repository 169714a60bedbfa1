import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  copyFileChunk,
  MAX_COPY_FILE_BYTES,
  parseCopyFile,
  type RawCopyFile,
} from '#guest/network/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function root(): string {
  const d = mkdtempSync(join(tmpdir(), 'kata-copy-'));
  dirs.push(d);
  return join(d, 'shared', 'containers');
}
const req = (path: string, o: Partial<RawCopyFile> = {}): RawCopyFile => ({
  path,
  file_size: 5,
  file_mode: 0o100644,
  dir_mode: 0o750,
  uid: process.getuid?.() ?? 0,
  gid: process.getgid?.() ?? 0,
  offset: 0,
  data: Buffer.from('hosts'),
  ...o,
});

describe('CopyFile', () => {
  test('writes a file in chunks below the root with its mode', async () => {
    const r = root();
    const p = `${r}/c1-0123-hosts`;
    await copyFileChunk(parseCopyFile(req(p, { file_size: 10, data: Buffer.from('12345') }), r), r);
    await copyFileChunk(
      parseCopyFile(req(p, { file_size: 10, offset: 5, data: Buffer.from('67890') }), r),
      r,
    );
    expect(readFileSync(p, 'utf8')).toBe('1234567890');
    expect(lstatSync(p).mode & 0o777).toBe(0o644);
    await copyFileChunk(
      parseCopyFile(req(p, { file_size: 2, data: Buffer.from('ok'), file_mode: 0o104755 }), r),
      r,
    );
    expect(readFileSync(p, 'utf8')).toBe('ok');
    expect(lstatSync(p).mode & 0o7777, 'setuid dropped').toBe(0o755);
  });

  test.each([
    ['a path outside the root', () => req('/etc/passwd'), /not inside/],
    ['the root itself', (r: string) => req(r), /not inside/],
    ['a path with ..', (r: string) => req(`${r}/../../etc/x`), /not normalized/],
    ['a relative path', () => req('hosts'), /not absolute/],
    ['a symlink', (r: string) => req(`${r}/l`, { file_mode: 0o120777 }), /symlinks are refused/],
    ['a folder', (r: string) => req(`${r}/d`, { file_mode: 0o040755 }), /not a regular file/],
    [
      'a huge file',
      (r: string) => req(`${r}/big`, { file_size: MAX_COPY_FILE_BYTES + 1 }),
      /file_size/,
    ],
    ['a chunk past file_size', (r: string) => req(`${r}/x`, { file_size: 3 }), /outside file_size/],
    ['a negative offset', (r: string) => req(`${r}/x`, { offset: -1 }), /offset/],
    ['a negative uid', (r: string) => req(`${r}/x`, { uid: -1 }), /uid/],
  ])('refuses %s', (_what, make, why) => {
    const r = root();
    expect(() => parseCopyFile(make(r), r)).toThrow(why);
  });

  test('never writes through a symlink on the way or at the target', async () => {
    const r = root();
    mkdirSync(r, { recursive: true });
    const outside = mkdtempSync(join(tmpdir(), 'kata-outside-'));
    dirs.push(outside);
    symlinkSync(outside, join(r, 'evil-dir'));
    symlinkSync(join(outside, 'target'), join(r, 'evil-file'));
    await expect(copyFileChunk(parseCopyFile(req(`${r}/evil-dir/x`), r), r)).rejects.toThrow(
      /not a folder/,
    );
    await expect(copyFileChunk(parseCopyFile(req(`${r}/evil-file`), r), r)).rejects.toThrow(
      /not a regular file/,
    );
    writeFileSync(join(outside, 'keep'), 'x');
    expect(() => lstatSync(join(outside, 'target'))).toThrow();
  });

  test('a later chunk for a file that does not exist is refused', async () => {
    const r = root();
    await expect(
      copyFileChunk(parseCopyFile(req(`${r}/x`, { file_size: 10, offset: 5 }), r), r),
    ).rejects.toMatchObject({
      kind: 'failed_precondition',
    });
  });
});
