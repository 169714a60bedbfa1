import { constants } from 'node:fs';
import { chown, lstat, mkdir, open } from 'node:fs/promises';
import { posix } from 'node:path';
import { checkAbsolutePath, isWithin } from '#guest/sandbox/index.js';
import { GuestNetworkError, invalidNet } from './errors.js';

/** Where CopyFile may write: the shared-containers folder of the storage root (Kata's path). */
export const COPY_FILE_ROOT = '/run/kata-containers/shared/containers';
/** Largest file CopyFile accepts (hosts, resolv.conf, hostname, termination-log are tiny). */
export const MAX_COPY_FILE_BYTES = 4 << 20;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/** A validated CopyFile chunk. */
export interface CopyFileChunk {
  readonly path: string;
  readonly fileSize: number;
  /** Permission bits (suid/sgid/sticky dropped). */
  readonly mode: number;
  readonly dirMode: number;
  readonly uid: number;
  readonly gid: number;
  readonly offset: number;
  readonly data: Uint8Array;
}

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

/** Validates a CopyFile request: regular files only, strictly below `root`, bounded size. */
export function parseCopyFile(r: RawCopyFile, root = COPY_FILE_ROOT): CopyFileChunk {
  let path: string;
  try {
    path = checkAbsolutePath(r.path, 'path');
  } catch (err) {
    throw invalidNet(`CopyFile ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isWithin(path, root) || path === root)
    throw invalidNet(`CopyFile path: ${JSON.stringify(r.path)} is not inside ${root}`);
  const type = r.file_mode & S_IFMT;
  if (type === S_IFLNK) throw invalidNet(`CopyFile ${path}: symlinks are refused`);
  if (type !== 0 && type !== S_IFREG)
    throw invalidNet(
      `CopyFile ${path}: file_mode 0o${r.file_mode.toString(8)} is not a regular file`,
    );
  if (!Number.isSafeInteger(r.file_size) || r.file_size < 0 || r.file_size > MAX_COPY_FILE_BYTES)
    throw invalidNet(
      `CopyFile ${path}: file_size ${String(r.file_size)} is out of range 0..${String(MAX_COPY_FILE_BYTES)}`,
    );
  if (!Number.isSafeInteger(r.offset) || r.offset < 0 || r.offset + r.data.length > r.file_size)
    throw invalidNet(
      `CopyFile ${path}: chunk at offset ${String(r.offset)} (+${String(r.data.length)} bytes) is outside file_size ${String(r.file_size)}`,
    );
  return {
    path,
    fileSize: r.file_size,
    mode: r.file_mode & 0o777,
    dirMode: r.dir_mode & 0o777 || 0o750,
    uid: checkOwner(r.uid, 'CopyFile uid'),
    gid: checkOwner(r.gid, 'CopyFile gid'),
    offset: r.offset,
    data: r.data,
  };
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

/**
 * Writes one chunk (Kata semantics: offset 0 creates or truncates the file, later chunks write
 * at their offset). Never follows a symlink; the file ends up owned by uid:gid with `mode`.
 */
export async function copyFileChunk(c: CopyFileChunk, root = COPY_FILE_ROOT): Promise<void> {
  const dir = posix.dirname(c.path);
  await ensureDirs(root, dir, c.dirMode);
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
      await chown(c.path, c.uid, c.gid).catch((err: unknown) => {
        if (!(err instanceof Error && 'code' in err && err.code === 'EPERM')) throw err;
      });
    }
  } finally {
    await fh.close();
  }
}
