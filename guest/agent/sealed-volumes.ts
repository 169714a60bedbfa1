import { constants } from 'node:fs';
import {
  chmod,
  chown,
  lchown,
  lstat,
  mkdir,
  open,
  opendir,
  readlink,
  rm,
  symlink,
} from 'node:fs/promises';
import { posix } from 'node:path';
import { CcError, type Logger } from '#src/lib/index.js';
import { CDH_SERVICES } from '#src/protocol/cdh/index.js';
import { COPY_FILE_ROOT, MAX_COPY_FILE_BYTES } from '#guest/network/index.js';
import { isWithin, type ContainerSpec, type MountSpec } from '#guest/sandbox/index.js';
import { AgentError } from './errors.js';
import { SEALED_PREFIX, type SecretUnsealer } from './sealed-env.js';

/**
 * Where unsealed copies of volumes live: guest tmpfs (`/run`), inside the storage root (so a
 * container may bind-mount it) but outside the CopyFile root (so the host cannot write there).
 */
export const SEALED_VOLUME_ROOT = '/run/kata-containers/sealed-secrets';
/** Upstream's marker: a volume mounted at `/sealed/<path>` is mounted at `/<path>` (unsealed). */
const UPSTREAM_SEALED_MOUNT_PREFIX = '/sealed/';
/** Bounds of one copied volume the agent walks (the host sent it: untrusted). */
export const SEALED_VOLUME_LIMITS = { entries: 4096, depth: 16, sealedFiles: 256 } as const;

export interface SealedVolumeOptions {
  readonly containerId: string;
  /** Absent: the agent runs without guest components; a sealed file is refused. */
  readonly unsealer?: SecretUnsealer | undefined;
  /** Where the host's copies are (CopyFile's root). */
  readonly copyRoot?: string | undefined;
  /** Where unsealed copies go (default `SEALED_VOLUME_ROOT`). */
  readonly unsealedRoot?: string | undefined;
  readonly log?: Logger | undefined;
  readonly signal?: AbortSignal | undefined;
}

function isBind(m: MountSpec): boolean {
  return m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind');
}

function refuse(kind: CcError['kind'], message: string, cause?: unknown): AgentError {
  return new AgentError(
    kind,
    'ERR_AGENT_SEALED_SECRET',
    message,
    cause === undefined ? undefined : { cause },
  );
}

/** Reads a regular file without following a symlink, at most `MAX_COPY_FILE_BYTES`. */
async function readNoFollow(path: string): Promise<Buffer> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    if (st.size > MAX_COPY_FILE_BYTES)
      throw refuse('invalid_argument', `${path}: larger than ${String(MAX_COPY_FILE_BYTES)} bytes`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/** Whether a regular file (never followed) starts with `sealed.`; reads only that prefix. */
async function startsSealed(path: string): Promise<boolean> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buf = Buffer.alloc(SEALED_PREFIX.length);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return isSealed(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

function isSealed(data: Uint8Array): boolean {
  return Buffer.from(data.subarray(0, SEALED_PREFIX.length)).toString('latin1') === SEALED_PREFIX;
}

/** The entries of a copied volume, parents first: folder, symlink or regular file (others skipped). */
interface Entry {
  readonly rel: string;
  readonly kind: 'directory' | 'symlink' | 'file';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

async function walk(root: string, at: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const queue: { rel: string; depth: number }[] = [{ rel: '', depth: 0 }];
  for (let q = queue.shift(); q !== undefined; q = queue.shift()) {
    const dir = await opendir(q.rel === '' ? root : `${root}/${q.rel}`);
    try {
      for (let d = await dir.read(); d !== null; d = await dir.read()) {
        const rel = q.rel === '' ? d.name : `${q.rel}/${d.name}`;
        if (out.length >= SEALED_VOLUME_LIMITS.entries)
          throw refuse(
            'resource_exhausted',
            `${at}: more than ${String(SEALED_VOLUME_LIMITS.entries)} entries`,
          );
        const st = await lstat(`${root}/${rel}`);
        const base = { rel, mode: st.mode & 0o777, uid: st.uid, gid: st.gid };
        if (st.isDirectory()) {
          if (q.depth + 1 > SEALED_VOLUME_LIMITS.depth)
            throw refuse(
              'resource_exhausted',
              `${at}: nested deeper than ${String(SEALED_VOLUME_LIMITS.depth)}`,
            );
          out.push({ ...base, kind: 'directory' });
          queue.push({ rel, depth: q.depth + 1 });
        } else if (st.isSymbolicLink()) out.push({ ...base, kind: 'symlink' });
        else if (st.isFile()) out.push({ ...base, kind: 'file' });
      }
    } finally {
      await dir.close();
    }
  }
  return out;
}

async function writeFileAs(
  path: string,
  data: Uint8Array,
  e: Omit<Entry, 'rel' | 'kind'>,
): Promise<void> {
  const fh = await open(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    await fh.write(data);
    await fh.chown(e.uid, e.gid).catch(() => undefined);
    await fh.chmod(e.mode);
  } finally {
    await fh.close();
  }
}

type Unseal = (text: string, what: string) => Promise<Uint8Array>;

/** A copied volume: the source itself (a file or a folder) and, for a folder, its entries. */
interface Scan {
  readonly top: Omit<Entry, 'rel'>;
  readonly entries: readonly Entry[];
}

async function scan(source: string, at: string): Promise<Scan | undefined> {
  const st = await lstat(source).catch(() => undefined);
  if (st === undefined || !(st.isFile() || st.isDirectory())) return undefined;
  const top = {
    kind: st.isFile() ? ('file' as const) : ('directory' as const),
    mode: st.mode & 0o777,
    uid: st.uid,
    gid: st.gid,
  };
  return { top, entries: top.kind === 'file' ? [] : await walk(source, at) };
}

/** Whether a scanned volume holds a sealed file. */
async function hasSealedFile(source: string, s: Scan): Promise<boolean> {
  if (s.top.kind === 'file') return startsSealed(source);
  for (const e of s.entries)
    if (e.kind === 'file' && (await startsSealed(`${source}/${e.rel}`))) return true;
  return false;
}

async function copyEntry(
  from: string,
  to: string,
  e: Omit<Entry, 'rel'>,
  what: string,
  unseal: Unseal,
): Promise<boolean> {
  const data = await readNoFollow(from);
  const sealed = isSealed(data);
  await writeFileAs(to, sealed ? await unseal(Buffer.from(data).toString('utf8'), what) : data, e);
  return sealed;
}

/** Copies a scanned volume to `dest`, unsealing every sealed file; answers how many were sealed. */
async function copyUnsealed(
  source: string,
  dest: string,
  s: Scan,
  at: string,
  unseal: Unseal,
): Promise<number> {
  if (s.top.kind === 'file') return (await copyEntry(source, dest, s.top, at, unseal)) ? 1 : 0;
  await mkdir(dest, { mode: 0o700 });
  let count = 0;
  for (const e of s.entries) {
    const to = `${dest}/${e.rel}`;
    if (e.kind === 'directory') await mkdir(to, { mode: 0o700 });
    else if (e.kind === 'symlink') {
      const target = await readlink(`${source}/${e.rel}`);
      // CopyFile makes only such symlinks; anything else did not come from it and is not copied
      if (target.startsWith('/') || target.split('/').includes('..')) continue;
      await symlink(target, to);
      await lchown(to, e.uid, e.gid).catch(() => undefined);
    } else if (await copyEntry(`${source}/${e.rel}`, to, e, `${at} (${e.rel})`, unseal)) {
      if (++count > SEALED_VOLUME_LIMITS.sealedFiles)
        throw refuse(
          'resource_exhausted',
          `${at}: more than ${String(SEALED_VOLUME_LIMITS.sealedFiles)} sealed files`,
        );
    }
  }
  // folder owners and modes last (deepest first), so a read-only folder does not stop its own copy
  const dirs = [{ ...s.top, rel: '' }, ...s.entries.filter((e) => e.kind === 'directory')];
  for (const d of dirs.reverse()) {
    const path = d.rel === '' ? dest : `${dest}/${d.rel}`;
    await chown(path, d.uid, d.gid).catch(() => undefined);
    await chmod(path, d.mode);
  }
  return count;
}

function unsealWith(unsealer: SecretUnsealer, o: SealedVolumeOptions): Unseal {
  return async (text, what) => {
    try {
      return await unsealer.unseal(text.trimEnd(), { signal: o.signal });
    } catch (err) {
      const kind = err instanceof CcError ? err.kind : 'internal';
      throw refuse(
        kind === 'invalid_argument' || kind === 'permission_denied' || kind === 'unavailable'
          ? kind
          : 'failed_precondition',
        `cannot unseal the sealed secret file of the volume mounted at ${what}: ${err instanceof Error ? err.message : String(err)}`,
        err,
      );
    }
  };
}

/**
 * Sealed secret files (issue #8): every copied volume (a bind mount whose source the host put
 * below the CopyFile root) holding a file whose content is `sealed.<jws>` is copied to a
 * guest-only folder below `unsealedRoot/<container>` with each sealed file replaced by its
 * plaintext from the CDH (modes, owners and symlinks kept), and the mount uses that copy. As
 * upstream, a destination `/sealed/<path>` becomes `/<path>`. Without an unsealer (no guest
 * components) a sealed file is refused (`failed_precondition`). Answers the spec to run.
 */
export async function unsealVolumes(
  spec: ContainerSpec,
  o: SealedVolumeOptions,
): Promise<ContainerSpec> {
  const copyRoot = o.copyRoot ?? COPY_FILE_ROOT;
  const root = `${o.unsealedRoot ?? SEALED_VOLUME_ROOT}/${o.containerId}`;
  let changed = false;
  const mounts: MountSpec[] = [];
  for (const [i, m] of spec.mounts.entries()) {
    const s =
      isBind(m) && isWithin(m.source, copyRoot) && m.source !== copyRoot
        ? await scan(m.source, m.destination)
        : undefined;
    const destination =
      s !== undefined && m.destination.startsWith(UPSTREAM_SEALED_MOUNT_PREFIX)
        ? m.destination.slice('/sealed'.length)
        : m.destination;
    if (s === undefined || !(await hasSealedFile(m.source, s))) {
      changed ||= destination !== m.destination;
      mounts.push({ ...m, destination });
      continue;
    }
    if (!o.unsealer)
      throw refuse(
        'failed_precondition',
        `the volume mounted at ${m.destination} holds sealed secret files, but this agent runs without the guest components (no confidential data hub)`,
      );
    await mkdir(root, { recursive: true, mode: 0o700 });
    const dest = `${root}/${String(i)}-${posix.basename(m.source)}`;
    await rm(dest, { recursive: true, force: true });
    const n = await copyUnsealed(m.source, dest, s, destination, unsealWith(o.unsealer, o));
    o.log?.info('sealed secret files unsealed', {
      destination,
      files: n,
      service: CDH_SERVICES.sealedSecret,
    });
    mounts.push({ ...m, source: dest, destination });
    changed = true;
  }
  return changed ? { ...spec, mounts } : spec;
}

/** Removes a container's unsealed volume copies (RemoveContainer, a failed CreateContainer). */
export async function removeUnsealedVolumes(
  containerId: string,
  unsealedRoot = SEALED_VOLUME_ROOT,
): Promise<void> {
  await rm(`${unsealedRoot}/${containerId}`, { recursive: true, force: true });
}

/** Removes every unsealed volume copy (DestroySandbox). */
export async function removeAllUnsealedVolumes(unsealedRoot = SEALED_VOLUME_ROOT): Promise<void> {
  await rm(unsealedRoot, { recursive: true, force: true });
}
