import type { Logger } from '#src/lib/index.js';
import type { HostConfig } from '#src/host/config/index.js';
import { startTaskServer, type TaskServer } from '#src/host/service/index.js';
import { ShimError } from './errors.js';
import { requireFlags, type ShimFlags } from './shim-flags.js';

export interface ServeOptions {
  readonly config: HostConfig;
  readonly projectRoot: string;
  readonly logger: Logger;
  /** containerd's ttrpc address (env `TTRPC_ADDRESS`). */
  readonly ttrpcAddress: string;
  readonly shimPid: number;
}

/** The long-lived shim server: serves the task API on `-socket` until Shutdown. */
export async function runServe(flags: ShimFlags, o: ServeOptions): Promise<TaskServer> {
  requireFlags(flags, 'namespace', 'id', 'address');
  if (flags.socket === undefined || flags.socket === '') {
    throw new ShimError(
      'invalid_argument',
      'ERR_SHIM_USAGE',
      'the shim server needs -socket (containerd runs `start`, which forks it)',
    );
  }
  return startTaskServer({
    namespace: flags.namespace,
    address: flags.address,
    ttrpcAddress: o.ttrpcAddress,
    publishBinary: flags.publishBinary,
    socketPath: flags.socket.replace(/^unix:\/\//, ''),
    config: o.config,
    projectRoot: o.projectRoot,
    logger: o.logger.child({ sandbox_group: flags.id, namespace: flags.namespace }),
    shimPid: o.shimPid,
  });
}
