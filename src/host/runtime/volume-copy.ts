import { constants } from 'node:fs';
import { lstat, open, opendir, readlink, realpath } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { CcError, describeError, type Logger } from '#src/lib/index.js';
import type { AgentClient } from '#src/host/agent/index.js';
import { RuntimeError } from './errors.js';

/** Bounds of one volume folder copied into the guest (`runtime.shared_volume_max_*`). */
export interface SharedVolumeLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly maxDepth: number;
}

export const DEFAULT_SHARED_VOLUME_LIMITS: SharedVolumeLimits = {
  maxEntries: 1024,
  maxBytes: 16 << 20,
  maxDepth: 8,
};

/** Largest single file of a volume (the guest's CopyFile bound). */
export const MAX_VOLUME_FILE_BYTES = 4 << 20;
/** Longest symlink target copied (the guest's bound, PATH_MAX - 1). */
const MAX_SYMLINK_TARGET_BYTES = 4095;

/** kubelet's volume plugins whose folders it fills with its atomic writer (`..data` layout). */
const KUBELET_VOLUME_KINDS = [
  'kubernetes.io~secret',
  'kubernetes.io~configmap',
  'kubernetes.io~projected',
  'kubernetes.io~downward-api',
] as const;

export type VolumeEntry =
  | {
      readonly kind: 'directory';
      readonly rel: string;
      readonly mode: number;
      readonly uid: number;
      readonly gid: number;
    }
  | {
      readonly kind: 'file';
      readonly rel: string;
      readonly mode: number;
      readonly uid: number;
      readonly gid: number;
      readonly size: number;
    }
  | {
      readonly kind: 'symlink';
      readonly rel: string;
      readonly target: string;
      readonly uid: number;
      readonly gid: number;
    };

/** What a walk of a volume folder found: entries in copy order (parents first) and what it left out. */
export interface VolumePlan {
  readonly root: string;
  readonly entries: readonly VolumeEntry[];
  readonly bytes: number;
  readonly skipped: readonly { readonly rel: string; readonly reason: string }[];
}

/**
 * Whether a bind-mounted host folder is a volume the runtime copies into the guest: a kubelet
 * Secret, ConfigMap, projected or downward-API volume (by its path under `volumes/`, or by the
 * atomic writer's `..data` symlink inside). Other folders (the sandbox's /dev/shm, emptyDir,
 * hostPath) are knowingly not shared.
 */
export async function isVolumeDirectory(dir: string): Promise<boolean> {
  const parts = dir.split('/');
  if (KUBELET_VOLUME_KINDS.some((k) => parts.includes(k))) return true;
  const st = await lstat(join(dir, '..data')).catch(() => undefined);
  return st?.isSymbolicLink() === true;
}

/** Why a symlink target would point outside its copied tree (or be refused by the guest); '' if fine. */
export function unsafeSymlinkTarget(target: string): string {
  if (target === '') return 'its target is empty';
  if (Buffer.byteLength(target) > MAX_SYMLINK_TARGET_BYTES)
    return `its target is longer than ${String(MAX_SYMLINK_TARGET_BYTES)} bytes`;
  if (target.startsWith('/')) return 'its target is absolute';
  if (target.split('/').includes('..')) return 'its target has a ".." component';
  if (target.includes('\0')) return 'its target has a NUL byte';
  return '';
}

function tooLarge(what: string, source: string, destination: string, detail: string): RuntimeError {
  return new RuntimeError(
    'resource_exhausted',
    'ERR_RUNTIME_VOLUME',
    `volume mounted at ${destination} (${source}) cannot be copied into the guest: ${what} ${detail}; raise the limit in the runtime config or make the volume smaller`,
  );
}

/** At most `max` names of a folder, sorted (a huge folder is not read to its end). */
async function readNames(dir: string, max: number): Promise<string[]> {
  const names: string[] = [];
  const d = await opendir(dir);
  try {
    for (let e = await d.read(); e !== null && names.length < max; e = await d.read())
      names.push(e.name);
  } finally {
    await d.close();
  }
  return names.sort();
}

/**
 * Walks a volume folder without following symlinks, breadth first, within `limits` (an
 * over-limit folder throws `ERR_RUNTIME_VOLUME`, naming the key to raise). Symlinks whose target
 * could leave the tree and special files are left out and listed in `skipped`.
 */
export async function planVolumeCopy(
  source: string,
  destination: string,
  limits: SharedVolumeLimits,
): Promise<VolumePlan> {
  const root = await realpath(source);
  const entries: VolumeEntry[] = [];
  const skipped: { rel: string; reason: string }[] = [];
  let bytes = 0;
  const queue: { rel: string; depth: number }[] = [{ rel: '', depth: 0 }];
  for (let q = queue.shift(); q !== undefined; q = queue.shift()) {
    const names = await readNames(join(root, q.rel), limits.maxEntries - entries.length + 1);
    if (entries.length + names.length > limits.maxEntries)
      throw tooLarge(
        'it',
        source,
        destination,
        `has more than runtime.shared_volume_max_entries = ${String(limits.maxEntries)} entries`,
      );
    for (const name of names) {
      const rel = q.rel === '' ? name : posix.join(q.rel, name);
      const st = await lstat(join(root, rel));
      const owner = { rel, uid: st.uid, gid: st.gid };
      if (st.isDirectory()) {
        if (q.depth + 1 > limits.maxDepth)
          throw tooLarge(
            'folder',
            source,
            destination,
            `${rel} is nested deeper than runtime.shared_volume_max_depth = ${String(limits.maxDepth)}`,
          );
        entries.push({ kind: 'directory', ...owner, mode: st.mode & 0o777 });
        queue.push({ rel, depth: q.depth + 1 });
      } else if (st.isFile()) {
        if (st.size > MAX_VOLUME_FILE_BYTES)
          throw tooLarge(
            'file',
            source,
            destination,
            `${rel} has ${String(st.size)} bytes, more than the guest's ${String(MAX_VOLUME_FILE_BYTES)} per file`,
          );
        bytes += st.size;
        if (bytes > limits.maxBytes)
          throw tooLarge(
            'it',
            source,
            destination,
            `holds more than runtime.shared_volume_max_bytes = ${String(limits.maxBytes)} bytes`,
          );
        entries.push({ kind: 'file', ...owner, mode: st.mode & 0o777, size: st.size });
      } else if (st.isSymbolicLink()) {
        const target = await readlink(join(root, rel));
        const why = unsafeSymlinkTarget(target);
        if (why !== '') skipped.push({ rel, reason: `symlink skipped: ${why}` });
        else entries.push({ kind: 'symlink', ...owner, target });
      } else {
        skipped.push({ rel, reason: 'not a regular file, folder or symlink' });
        continue;
      }
    }
  }
  return { root, entries, bytes, skipped };
}

/**
 * Reads a file the walk found, never following a symlink and never more than its walked size:
 * the host folder may have changed since (kubelet's updates), and the walk's sizes are the bounds.
 */
async function readExactly(path: string, size: number): Promise<Buffer> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buf = Buffer.alloc(size + 1);
    let n = 0;
    for (let r = -1; r !== 0 && n < buf.length; n += r)
      r = (await fh.read(buf, n, buf.length - n, n)).bytesRead;
    if (n !== size)
      throw new RuntimeError(
        'failed_precondition',
        'ERR_RUNTIME_VOLUME',
        `${path} changed size while it was copied (${String(size)} bytes when walked); retry`,
      );
    return buf.subarray(0, size);
  } finally {
    await fh.close();
  }
}

/**
 * Copies a planned volume folder to `guestPath` with CopyFile (folder first, then its entries,
 * parents before children), keeping its symlink layout. A failed copy is `ERR_RUNTIME_VOLUME`
 * naming the entry.
 */
export async function copyVolume(
  agent: Pick<AgentClient, 'copyFile' | 'copyDirectory' | 'copySymlink'>,
  plan: VolumePlan,
  guestPath: string,
  o: {
    readonly destination: string;
    readonly log: Logger;
    readonly signal?: AbortSignal | undefined;
  },
): Promise<void> {
  const top = await lstat(plan.root);
  let rel = '';
  try {
    await agent.copyDirectory(
      { path: guestPath, mode: top.mode & 0o777, uid: top.uid, gid: top.gid },
      { signal: o.signal },
    );
    for (const e of plan.entries) {
      rel = e.rel;
      const path = `${guestPath}/${e.rel}`;
      if (e.kind === 'directory')
        await agent.copyDirectory(
          { path, mode: e.mode, uid: e.uid, gid: e.gid },
          { signal: o.signal },
        );
      else if (e.kind === 'symlink')
        await agent.copySymlink(
          { path, target: e.target, uid: e.uid, gid: e.gid },
          { signal: o.signal },
        );
      else {
        const data = await readExactly(join(plan.root, e.rel), e.size);
        await agent.copyFile(
          { path, data, mode: e.mode, uid: e.uid, gid: e.gid },
          { signal: o.signal },
        );
      }
    }
  } catch (err) {
    if (o.signal?.aborted === true) throw err;
    throw new RuntimeError(
      err instanceof CcError ? err.kind : 'internal',
      'ERR_RUNTIME_VOLUME',
      `cannot copy volume ${plan.root} (mounted at ${o.destination}) into the guest${rel === '' ? '' : ` at ${rel}`}: ${describeError(err)}`,
      { cause: err },
    );
  }
  for (const s of plan.skipped)
    o.log.warn('volume entry not copied into the guest', {
      destination: o.destination,
      entry: s.rel,
      reason: s.reason,
    });
}
