import { randomBytes } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { CcError, describeError, isPlainObject, type Logger } from '#src/lib/index.js';
import { GUEST_SHARED_FILES_DIR, type AgentClient } from '#src/host/agent/index.js';
import { RuntimeError } from './errors.js';

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

/**
 * Kata's no-shared-filesystem file sharing: every bind mount whose source is a small regular host
 * file is copied into the guest with CopyFile, and the mount's source is rewritten to the copy.
 * Directories and larger files stay host-only (the agent translation drops them, as before).
 * Returns the spec to send (the input is not modified).
 */
export async function shareFileMounts(
  agent: Pick<AgentClient, 'copyFile'>,
  containerId: string,
  ociSpec: Json,
  log: Logger,
  signal?: AbortSignal,
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
