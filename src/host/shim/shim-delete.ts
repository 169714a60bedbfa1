import { describeError, type Logger } from '#src/lib/index.js';
import { deleteAfterLostShim } from '#src/host/service/index.js';
import { requireFlags, type ShimFlags } from './shim-flags.js';
import { groupingId, readBundleAnnotations } from './socket-address.js';

export interface DeleteOptions {
  readonly cwd: string;
  readonly stateDir: string;
  readonly logger: Logger;
  readonly selfPid: number;
}

/**
 * `shim delete`: cleans up after a shim that is gone (VM killed by its persisted pid, mounts and
 * state removed) and returns the encoded `DeleteResponse` to print on stdout.
 */
export async function runDelete(flags: ShimFlags, o: DeleteOptions): Promise<Uint8Array> {
  requireFlags(flags, 'id');
  const bundle = flags.bundle ?? o.cwd;
  let sandboxId = flags.id;
  try {
    sandboxId = groupingId(readBundleAnnotations(bundle), flags.id);
  } catch (err) {
    o.logger.warn('cannot read bundle annotations', { err: describeError(err) });
  }
  return deleteAfterLostShim({
    stateDir: o.stateDir,
    sandboxId,
    containerId: flags.id,
    bundle,
    logger: o.logger,
    selfPid: o.selfPid,
  });
}
