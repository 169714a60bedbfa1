import { constants } from 'node:fs';
import { chmod, chown, lchown, lstat, mkdir, open, symlink, unlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { checkAbsolutePath, isWithin } from '#guest/sandbox/index.js';
import { GuestNetworkError, invalidNet } from './errors.js';

/** Where CopyFile may write: the shared-containers folder of the storage root (Kata's path). */
export const COPY_FILE_ROOT = '/run/kata-containers/shared/containers';
/** Largest file CopyFile accepts (hosts, resolv.conf, hostname, termination-log are tiny). */
export const MAX_COPY_FILE_BYTES = 4 << 20;
/** Longest symlink target CopyFile accepts (PATH_MAX - 1). */
export const MAX_SYMLINK_TARGET_BYTES = 4095;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

interface CopyBase {
  readonly path: string;
  readonly uid: number;
  readonly gid: number;
  /** Mode of folders created on the way. */
  readonly dirMode: number;
}

/** A validated CopyFile request: one chunk of a regular file. */
export interface CopyFileChunk extends CopyBase {
  readonly kind: 'file';
  readonly fileSize: number;
  /** Permission bits (suid/sgid/sticky dropped). */
  readonly mode: number;
  readonly offset: number;
  readonly data: Uint8Array;
}

/** A validated CopyFile request for a folder (`file_mode` type `S_IFDIR`). */
export interface CopyDirectory extends CopyBase {
  readonly kind: 'directory';
  readonly mode: number;
}

/** A validated CopyFile request for a symlink (`S_IFLNK`; `data` is the target, as Kata's). */
export interface CopySymlink extends CopyBase {
  readonly kind: 'symlink';
  /** Relative, without `..`: it can only point further down its own folder. */
  readonly target: string;
}

export type CopyFileEntry = CopyFileChunk | CopyDirectory | CopySymlink;

/** Field-for-field Kata's CopyFileRequest (host input, unvalidated). */
export interface RawCopyFile {
  readonly path: string;
  readonly file_size: number;
  readonly file_mode: number;
  readonly dir_mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly offset: number;
  readonly data: Uint8Array;
}

function checkOwner(v: number, at: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff)
    throw invalidNet(`${at}: ${String(v)} is not an id 0..2147483647`);
  return v;
}

/** Kata's policy input names the type (`file_type`) and, for a symlink, its target. */
export function copyFileType(fileMode: number): 'Regular' | 'Directory' | 'Symlink' | 'Unknown' {
  const type = fileMode & S_IFMT;
  if (type === 0 || type === S_IFREG) return 'Regular';
  if (type === S_IFDIR) return 'Directory';
  if (type === S_IFLNK) return 'Symlink';
  return 'Unknown';
}

/**
 * The request as the agent policy sees it (upstream's shape): the wire fields plus `file_type`
 * and, for a symlink, `symlink_target` (the text of `data`).
 */
export function copyFilePolicyInput(r: RawCopyFile): Record<string, unknown> {
  const fileType = copyFileType(r.file_mode);
  return {
    ...r,
    file_type: fileType,
    ...(fileType === 'Symlink' ? { symlink_target: Buffer.from(r.data).toString('utf8') } : {}),
  };
}

function checkSymlinkTarget(path: string, data: Uint8Array): string {
  if (data.length === 0 || data.length > MAX_SYMLINK_TARGET_BYTES)
    throw invalidNet(
      `CopyFile ${path}: symlink target of ${String(data.length)} bytes is out of range 1..${String(MAX_SYMLINK_TARGET_BYTES)}`,
    );
  let target: string;
  try {
    target = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw invalidNet(`CopyFile ${path}: symlink target is not UTF-8`);
  }
  if (target.includes('\0') || target.startsWith('/') || target.split('/').includes('..'))
    throw invalidNet(
      `CopyFile ${path}: symlink target ${JSON.stringify(target)} must be relative, without ".." and NUL`,
    );
  return target;
}

function checkFileChunk(r: RawCopyFile, path: string): void {
  if (!Number.isSafeInteger(r.file_size) || r.file_size < 0 || r.file_size > MAX_COPY_FILE_BYTES)
    throw invalidNet(
      `CopyFile ${path}: file_size ${String(r.file_size)} is out of range 0..${String(MAX_COPY_FILE_BYTES)}`,
    );
  if (!Number.isSafeInteger(r.offset) || r.offset < 0 || r.offset + r.data.length > r.file_size)
    throw invalidNet(
      `CopyFile ${path}: chunk at offset ${String(r.offset)} (+${String(r.data.length)} bytes) is outside file_size ${String(r.file_size)}`,
    );
}

/**
 * Validates a CopyFile request (the host is untrusted): strictly below `root`; a regular file
 * chunk of bounded size, a folder, or a symlink that is not directly in `root` and whose target
 * is relative without `..` (so it cannot leave the copied tree). Anything else is refused.
 */
export function parseCopyFile(r: RawCopyFile, root = COPY_FILE_ROOT): CopyFileEntry {
  let path: string;
  try {
    path = checkAbsolutePath(r.path, 'path');
  } catch (err) {
    throw invalidNet(`CopyFile ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isWithin(path, root) || path === root)
    throw invalidNet(`CopyFile path: ${JSON.stringify(r.path)} is not inside ${root}`);
  const base: CopyBase = {
    path,
    uid: checkOwner(r.uid, 'CopyFile uid'),
    gid: checkOwner(r.gid, 'CopyFile gid'),
    dirMode: r.dir_mode & 0o777 || 0o750,
  };
  const type = copyFileType(r.file_mode);
  switch (type) {
    case 'Regular':
      checkFileChunk(r, path);
      return {
        ...base,
        kind: 'file',
        fileSize: r.file_size,
        mode: r.file_mode & 0o777,
        offset: r.offset,
        data: r.data,
      };
    case 'Directory':
      // upstream sends the permissions in dir_mode and only S_IFDIR in file_mode
      return { ...base, kind: 'directory', mode: r.file_mode & 0o777 || base.dirMode };
    case 'Symlink':
      if (posix.dirname(path) === root)
        throw invalidNet(`CopyFile ${path}: a symlink directly in ${root} is refused`);
      return { ...base, kind: 'symlink', target: checkSymlinkTarget(path, r.data) };
    case 'Unknown':
      throw invalidNet(
        `CopyFile ${path}: file_mode 0o${r.file_mode.toString(8)} is not a regular file, folder or symlink`,
      );
  }
}

/** Creates the folders from `root` down to `dir`, refusing anything on the way that is not a real folder. */
async function ensureDirs(root: string, dir: string, mode: number): Promise<void> {
  await mkdir(root, { recursive: true, mode: 0o750 });
  const rest = posix.relative(root, dir);
  let cur = root;
  for (const part of ['', ...(rest === '' ? [] : rest.split('/'))]) {
    cur = part === '' ? cur : `${cur}/${part}`;
    const st = await lstat(cur).catch(() => undefined);
    if (st === undefined) await mkdir(cur, { mode });
    else if (!st.isDirectory() || st.isSymbolicLink())
      throw invalidNet(`CopyFile: ${cur} exists and is not a folder`);
  }
}

async function chownQuiet(path: string, uid: number, gid: number, isLink = false): Promise<void> {
  await (isLink ? lchown : chown)(path, uid, gid).catch((err: unknown) => {
    if (!(err instanceof Error && 'code' in err && err.code === 'EPERM')) throw err;
  });
}

async function writeChunk(c: CopyFileChunk): Promise<void> {
  const st = await lstat(c.path).catch(() => undefined);
  if (st !== undefined && !st.isFile())
    throw invalidNet(`CopyFile: ${c.path} exists and is not a regular file`);
  if (st === undefined && c.offset > 0)
    throw new GuestNetworkError(
      'failed_precondition',
      'ERR_NET_INVALID',
      `CopyFile: chunk at offset ${String(c.offset)} for ${c.path}, which does not exist (send offset 0 first)`,
    );
  const flags =
    constants.O_WRONLY |
    constants.O_NOFOLLOW |
    constants.O_CREAT |
    (c.offset === 0 ? constants.O_TRUNC : 0);
  const fh = await open(c.path, flags, c.mode);
  try {
    if (c.data.length > 0) await fh.write(c.data, 0, c.data.length, c.offset);
    if (c.offset === 0) {
      await fh.chmod(c.mode);
      await chownQuiet(c.path, c.uid, c.gid);
    }
  } finally {
    await fh.close();
  }
}

async function makeDirectory(d: CopyDirectory): Promise<void> {
  const st = await lstat(d.path).catch(() => undefined);
  if (st === undefined) await mkdir(d.path, { mode: d.mode });
  else if (!st.isDirectory()) throw invalidNet(`CopyFile: ${d.path} exists and is not a folder`);
  await chmod(d.path, d.mode);
  await chownQuiet(d.path, d.uid, d.gid);
}

/** A symlink replaces an earlier symlink or file at its path (kubelet's updates), never a folder. */
async function makeSymlink(s: CopySymlink): Promise<void> {
  const st = await lstat(s.path).catch(() => undefined);
  if (st?.isDirectory() === true)
    throw invalidNet(`CopyFile: ${s.path} exists and is a folder, not replaced by a symlink`);
  if (st !== undefined) await unlink(s.path);
  await symlink(s.target, s.path);
  await chownQuiet(s.path, s.uid, s.gid, true);
}

/**
 * Applies one validated request (Kata semantics: a file's offset-0 chunk creates or truncates it,
 * later chunks write at their offset; a folder is created or kept; a symlink is (re)created).
 * Never follows a symlink; the result is owned by uid:gid.
 */
export async function copyFileChunk(c: CopyFileEntry, root = COPY_FILE_ROOT): Promise<void> {
  await ensureDirs(root, posix.dirname(c.path), c.dirMode);
  switch (c.kind) {
    case 'file':
      return writeChunk(c);
    case 'directory':
      return makeDirectory(c);
    case 'symlink':
      return makeSymlink(c);
  }
}
