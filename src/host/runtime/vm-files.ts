import { randomBytes } from 'node:crypto';
import { lstat, readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { CcError, describeError, isPlainObject, type Logger } from '#src/lib/index.js';
import { GUEST_SHARED_FILES_DIR, type AgentClient } from '#src/host/agent/index.js';
import { RuntimeError } from './errors.js';
import {
  copyVolume,
  DEFAULT_SHARED_VOLUME_LIMITS,
  isVolumeDirectory,
  planVolumeCopy,
  type SharedVolumeLimits,
} from './volume-copy.js';

/** Largest bind-mounted host file copied into the guest (CRI's hosts, resolv.conf, hostname …). */
export const MAX_SHARED_FILE_BYTES = 1 << 20;

type Json = Readonly<Record<string, unknown>>;

function isBind(m: Json): boolean {
  const options = Array.isArray(m['options']) ? m['options'] : [];
  return m['type'] === 'bind' || options.includes('bind') || options.includes('rbind');
}

/** `<container>-<16 hex>-<name>`: unique per copy, name from the destination (safe characters only). */
export function sharedFileName(containerId: string, destination: string): string {
  const name =
    basename(destination)
      .replace(/[^A-Za-z0-9_.-]/g, '_')
      .replace(/^\.+/, '') || 'file';
  return `${containerId}-${randomBytes(8).toString('hex')}-${name}`;
}

/** A bind-mounted host folder: copied when it is a volume, else knowingly not shared (logged). */
async function shareDirectory(
  agent: Pick<AgentClient, 'copyFile' | 'copyDirectory' | 'copySymlink'>,
  containerId: string,
  m: Json & { readonly source: string },
  o: {
    readonly log: Logger;
    readonly signal?: AbortSignal | undefined;
    readonly limits: SharedVolumeLimits;
  },
): Promise<Json | undefined> {
  const destination = typeof m['destination'] === 'string' ? m['destination'] : '';
  if (!(await isVolumeDirectory(m.source))) {
    o.log.info('host folder not shared with the guest', {
      destination,
      reason: 'not a Secret, ConfigMap, projected or downward-API volume',
    });
    return undefined;
  }
  const plan = await planVolumeCopy(m.source, destination, o.limits);
  const guestPath = `${GUEST_SHARED_FILES_DIR}/${sharedFileName(containerId, destination)}`;
  await copyVolume(agent, plan, guestPath, { destination, log: o.log, signal: o.signal });
  o.log.info('volume copied into the guest', {
    destination,
    guest_path: guestPath,
    entries: plan.entries.length,
    bytes: plan.bytes,
    skipped: plan.skipped.length,
  });
  return { ...m, source: guestPath };
}

/**
 * Kata's no-shared-filesystem file sharing: every bind mount whose source is a small regular host
 * file is copied into the guest with CopyFile, and so is every Secret/ConfigMap-style volume
 * folder (bounded by `limits`, symlink layout kept; over the limits: `ERR_RUNTIME_VOLUME`); the
 * mount's source is rewritten to the copy. Other folders and larger files stay host-only (the
 * agent translation drops them). Returns the spec to send (the input is not modified).
 */
export async function shareFileMounts(
  agent: Pick<AgentClient, 'copyFile' | 'copyDirectory' | 'copySymlink'>,
  containerId: string,
  ociSpec: Json,
  log: Logger,
  signal?: AbortSignal,
  limits: SharedVolumeLimits = DEFAULT_SHARED_VOLUME_LIMITS,
): Promise<Json> {
  const mounts = ociSpec['mounts'];
  if (!Array.isArray(mounts)) return ociSpec;
  const out: unknown[] = [];
  for (const m of mounts) {
    if (!isPlainObject(m) || !isBind(m) || typeof m['source'] !== 'string') {
      out.push(m);
      continue;
    }
    const source = m['source'];
    const destination = typeof m['destination'] === 'string' ? m['destination'] : '';
    const st = await lstat(source).catch(() => undefined);
    const isDir =
      st?.isSymbolicLink() === true
        ? (await stat(source).catch(() => st)).isDirectory()
        : st?.isDirectory() === true;
    if (isDir) {
      out.push(
        (await shareDirectory(agent, containerId, { ...m, source }, { log, signal, limits })) ?? m,
      );
      continue;
    }
    if (st === undefined || !st.isFile() || st.size > MAX_SHARED_FILE_BYTES) {
      out.push(m);
      continue;
    }
    const guestPath = `${GUEST_SHARED_FILES_DIR}/${sharedFileName(containerId, destination)}`;
    try {
      const data = await readFile(source);
      await agent.copyFile(
        { path: guestPath, data, mode: st.mode & 0o777, uid: st.uid, gid: st.gid },
        { signal },
      );
    } catch (err) {
      if (signal?.aborted === true) throw err;
      throw new RuntimeError(
        err instanceof CcError ? err.kind : 'internal',
        'ERR_RUNTIME_SANDBOX',
        `cannot copy ${source} (mounted at ${destination}) into the guest: ${describeError(err)}`,
        { cause: err },
      );
    }
    log.debug('bind-mounted file copied into the guest', { destination, guest_path: guestPath });
    out.push({ ...m, source: guestPath });
  }
  return { ...ociSpec, mounts: out };
}
