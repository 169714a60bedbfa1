import { createConnection } from 'node:net';
import { join } from 'node:path';
import { run, type CommandResult } from '#test/helpers/containerd.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { TASK_SERVICE_V2 } from '#src/protocol/shim/index.js';
import { TtrpcClient } from '#src/protocol/ttrpc/index.js';

export const SHIM_BUNDLE = join(PROJECT_ROOT, 'dist', 'containerd-shim-kata-cc-v2.mjs');

export interface ShimArgs {
  readonly namespace: string;
  readonly address: string;
  readonly id: string;
}

/** Runs `containerd-shim-kata-cc-v2 <flags> <action>` in `bundle`, as containerd does. */
export function shimAction(
  action: 'start' | 'delete',
  a: ShimArgs,
  bundle: string,
  env: Record<string, string>,
  input?: Uint8Array,
): Promise<CommandResult> {
  return run(
    [
      process.execPath,
      SHIM_BUNDLE,
      '-namespace',
      a.namespace,
      '-address',
      a.address,
      '-publish-binary',
      '',
      '-id',
      a.id,
      action,
    ],
    {
      cwd: bundle,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
      timeoutMs: 60_000,
      ...(input === undefined ? {} : { input }),
    },
  );
}

/** A ttrpc connection to a shim's task service, in containerd's namespace. */
export async function connectTask(
  address: string,
  namespace: string,
  service: string = TASK_SERVICE_V2,
): Promise<{
  call(method: string, payload: Uint8Array, timeoutMs?: number): Promise<Uint8Array>;
  close(): Promise<void>;
}> {
  const socket = createConnection(address.replace(/^unix:\/\//, ''));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const client = new TtrpcClient(socket);
  return {
    call: (method, payload, timeoutMs = 120_000) =>
      client.call(service, method, payload, {
        timeoutMs,
        metadata: { 'containerd-namespace-ttrpc': namespace },
      }),
    close: () => client.close(),
  };
}
