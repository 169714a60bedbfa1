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
  copyFilePolicyInput,
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
    [
      'a symlink directly in the root',
      (r: string) => req(`${r}/l`, { file_mode: 0o120777, data: Buffer.from('x') }),
      /a symlink directly in .* is refused/,
    ],
    [
      'a symlink with an absolute target',
      (r: string) => req(`${r}/v/l`, { file_mode: 0o120777, data: Buffer.from('/etc/shadow') }),
      /must be relative, without "\.\." and NUL/,
    ],
    [
      'a symlink pointing up',
      (r: string) => req(`${r}/v/l`, { file_mode: 0o120777, data: Buffer.from('a/../../x') }),
      /must be relative, without "\.\."/,
    ],
    [
      'a symlink with an empty target',
      (r: string) => req(`${r}/v/l`, { file_mode: 0o120777, data: Buffer.alloc(0) }),
      /symlink target of 0 bytes/,
    ],
    [
      'a symlink target that is not UTF-8',
      (r: string) => req(`${r}/v/l`, { file_mode: 0o120777, data: Buffer.from([0xff, 0xfe]) }),
      /not UTF-8/,
    ],
    [
      'a device node',
      (r: string) => req(`${r}/v/d`, { file_mode: 0o020644 }),
      /not a regular file, folder or symlink/,
    ],
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

  test('copies a kubelet-style volume: folders, files and the ..data symlinks resolve', async () => {
    const r = root();
    const v = `${r}/c1-0123-creds`;
    const ts = '..2026_12_02_01_00_00.1';
    const apply = (o: Partial<RawCopyFile> & { path: string }) =>
      copyFileChunk(parseCopyFile(req(o.path, o), r), r);
    await apply({
      path: v,
      file_mode: 0o040000,
      dir_mode: 0o755,
      file_size: 0,
      data: Buffer.alloc(0),
    });
    await apply({ path: `${v}/${ts}`, file_mode: 0o040700, file_size: 0, data: Buffer.alloc(0) });
    await apply({
      path: `${v}/..data`,
      file_mode: 0o120777,
      data: Buffer.from(ts),
      file_size: ts.length,
    });
    await apply({
      path: `${v}/pass`,
      file_mode: 0o120777,
      data: Buffer.from('..data/pass'),
      file_size: 11,
    });
    await apply({
      path: `${v}/${ts}/pass`,
      file_mode: 0o100600,
      data: Buffer.from('hush'),
      file_size: 4,
    });
    expect(readFileSync(`${v}/pass`, 'utf8')).toBe('hush');
    expect(lstatSync(v).mode & 0o777, 'upstream: permissions in dir_mode').toBe(0o755);
    expect(lstatSync(`${v}/${ts}`).mode & 0o777).toBe(0o700);
    expect(lstatSync(`${v}/..data`).isSymbolicLink()).toBe(true);
    // kubelet's update: ..data is re-pointed; a folder is kept when sent again
    const ts2 = '..2026_12_02_02_00_00.2';
    await apply({ path: `${v}/${ts2}`, file_mode: 0o040755, file_size: 0, data: Buffer.alloc(0) });
    await apply({ path: `${v}/${ts2}/pass`, data: Buffer.from('new!'), file_size: 4 });
    await apply({
      path: `${v}/..data`,
      file_mode: 0o120777,
      data: Buffer.from(ts2),
      file_size: ts2.length,
    });
    await apply({ path: `${v}/${ts}`, file_mode: 0o040700, file_size: 0, data: Buffer.alloc(0) });
    expect(readFileSync(`${v}/pass`, 'utf8')).toBe('new!');
    await expect(
      apply({ path: `${v}/${ts}`, file_mode: 0o120777, data: Buffer.from('x'), file_size: 1 }),
    ).rejects.toThrow(/is a folder, not replaced by a symlink/);
    await expect(
      apply({ path: `${v}/pass/x`, file_mode: 0o040755, file_size: 0, data: Buffer.alloc(0) }),
    ).rejects.toThrow(/not a folder/);
  });

  test('the policy input names the file type and the symlink target (upstream shape)', () => {
    expect(
      copyFilePolicyInput(req('/p', { file_mode: 0o120777, data: Buffer.from('..data/k') })),
    ).toMatchObject({ path: '/p', file_type: 'Symlink', symlink_target: '..data/k' });
    expect(copyFilePolicyInput(req('/p', { file_mode: 0o040755 }))).toMatchObject({
      file_type: 'Directory',
    });
    expect(copyFilePolicyInput(req('/p', { file_mode: 0o644 }))).toMatchObject({
      file_type: 'Regular',
    });
    expect(copyFilePolicyInput(req('/p', { file_mode: 0o010644 }))).toMatchObject({
      file_type: 'Unknown',
    });
    expect(copyFilePolicyInput(req('/p'))).not.toHaveProperty('symlink_target');
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
