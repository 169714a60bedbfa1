import { rmSync } from 'node:fs';
import { deferred, describeError, type Logger } from '#src/lib/index.js';
import type { HostConfig } from '#src/host/config/index.js';
import { StateStore } from '#src/host/persist/index.js';
import {
  PodRuntime,
  VmSandboxFactory,
  type SandboxBackendFactory,
} from '#src/host/runtime/index.js';
import { TASK_SERVICE_V2, TASK_SERVICE_V3 } from '#src/protocol/shim/index.js';
import { TtrpcServer } from '#src/protocol/ttrpc/index.js';
import { EventForwarder } from './event-forwarder.js';
import { createTaskHandlers } from './task-service.js';

export interface TaskServerOptions {
  readonly namespace: string;
  /** containerd's grpc address (for the publish binary). */
  readonly address: string;
  readonly ttrpcAddress: string;
  readonly publishBinary: string;
  readonly socketPath: string;
  readonly config: HostConfig;
  readonly projectRoot: string;
  readonly logger: Logger;
  readonly shimPid: number;
  /** Replaces the VM backend (tests of the protocol layers). */
  readonly backends?: SandboxBackendFactory | undefined;
}

export interface TaskServer {
  /** Resolves when containerd asked the shim to shut down (or close() was called). */
  readonly shutdownRequested: Promise<undefined>;
  /** Stops the pod, flushes events, closes the socket. Idempotent. */
  close(): Promise<void>;
}

/** Serves the task API (v2 and v3) for one pod on `socketPath`. */
export async function startTaskServer(o: TaskServerOptions): Promise<TaskServer> {
  const log = o.logger;
  const events = new EventForwarder({
    namespace: o.namespace,
    ttrpcAddress: o.ttrpcAddress,
    address: o.address,
    publishBinary: o.publishBinary,
    logger: log,
  });
  const runtime = new PodRuntime({
    namespace: o.namespace,
    store: new StateStore(o.config.runtime.state_dir),
    backends:
      o.backends ??
      new VmSandboxFactory({ config: o.config, projectRoot: o.projectRoot, logger: log }),
    events,
    logger: log,
    shimPid: o.shimPid,
    socketPath: o.socketPath,
  });
  const shutdown = deferred<undefined>();
  const server = new TtrpcServer({ logger: log });
  const opts = {
    runtime,
    logger: log,
    shimPid: o.shimPid,
    onShutdown: () => {
      shutdown.resolve(undefined);
    },
  };
  server.register(TASK_SERVICE_V2, createTaskHandlers(opts, 2));
  server.register(TASK_SERVICE_V3, createTaskHandlers(opts, 3));
  await server.listen(o.socketPath);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shutdown.resolve(undefined);
      await runtime.close().catch((err: unknown) => {
        log.warn('closing the pod failed', { err: describeError(err) });
      });
      await events.close();
      await server.close({ graceMs: 1_000 });
      rmSync(o.socketPath, { force: true });
    })();
    return closing;
  };
  return { shutdownRequested: shutdown.promise, close };
}
