import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, type Logger } from '#src/lib/index.js';
import { StateStore, type SandboxRecord } from '#src/host/persist/index.js';
import { isMountPoint, unmount } from '#src/host/resource/index.js';

export interface CleanupLostSandboxOptions {
  readonly stateDir: string;
  /** The sandbox (grouping) id and the container being deleted. */
  readonly sandboxId: string;
  readonly containerId: string;
  readonly bundle: string;
  readonly logger: Logger;
  readonly selfPid: number;
}

function cmdlineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/** Kills `pid` only if it still is the process we started (pids are reused). */
function killIfOurs(pid: number, marker: string, log: Logger): void {
  if (pid <= 1 || cmdlineOf(pid)?.includes(marker) !== true) return;
  try {
    process.kill(pid, 'SIGKILL');
    log.info('killed leftover process', { pid });
  } catch (err) {
    log.warn('cannot kill leftover process', { pid, err: describeError(err) });
  }
}

async function unmountAll(paths: readonly string[], log: Logger): Promise<void> {
  for (const p of paths) {
    try {
      if (isMountPoint(p)) await unmount(p);
    } catch (err) {
      log.warn('cannot unmount', { path: p, err: describeError(err) });
    }
  }
}

async function cleanSandbox(
  store: StateStore,
  r: SandboxRecord,
  o: CleanupLostSandboxOptions,
): Promise<void> {
  killIfOurs(r.vmPid, r.sandboxId, o.logger);
  if (r.shimPid !== o.selfPid) killIfOurs(r.shimPid, 'containerd-shim-kata-cc-v2', o.logger);
  for (const c of r.containers) await unmountAll(c.mounts, o.logger);
  rmSync(r.socketPath, { force: true });
  store.remove(r.sandboxId);
}

/**
 * What `shim delete` does after a lost shim: kill the pod VM by its persisted pid, unmount what
 * the shim mounted, remove the state. Never throws: cleanup is best effort and logged.
 */
export async function cleanupLostSandbox(o: CleanupLostSandboxOptions): Promise<void> {
  const store = new StateStore(o.stateDir);
  try {
    const record = store.load(o.sandboxId);
    if (record && o.sandboxId === o.containerId) await cleanSandbox(store, record, o);
    else if (record) {
      const c = record.containers.find((x) => x.containerId === o.containerId);
      if (c) await unmountAll(c.mounts, o.logger);
      store.save({
        ...record,
        containers: record.containers.filter((x) => x.containerId !== o.containerId),
      });
    }
  } catch (err) {
    o.logger.warn('cleanup from persisted state failed', { err: describeError(err) });
  }
  await unmountAll([join(o.bundle, 'rootfs')], o.logger);
}
