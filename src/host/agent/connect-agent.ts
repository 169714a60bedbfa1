import { abortError, describeError, sleep, withDeadline, type Logger } from '#src/lib/index.js';
import { TtrpcClient } from '#src/protocol/ttrpc/index.js';
import { connectAgentChannel, type AgentChannel } from './agent-channel.js';
import { AgentClient } from './agent-client.js';
import { AgentError } from './errors.js';

export interface ConnectAgentOptions {
  readonly channel: AgentChannel;
  /** Upper bound for the agent to answer its health check. */
  readonly dialTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal | undefined;
  /** The VM's last console lines, named in the error when the agent never comes up. */
  readonly consoleTail: () => readonly string[];
  /** Settles when the VM is gone: waiting stops at once. */
  readonly vmExited?: Promise<unknown> | undefined;
}

const PROBE_TIMEOUT_MS = 1_000;
const RETRY_MS = 200;

function notReady(why: string, o: ConnectAgentOptions, cause?: unknown): AgentError {
  const tail = o.consoleTail();
  const console =
    tail.length === 0 ? ' (the VM console is empty)' : `; last console lines:\n${tail.join('\n')}`;
  return new AgentError(
    'deadline_exceeded',
    'ERR_AGENT_NOT_READY',
    `agent did not come up: ${why}${console}`,
    { cause },
  );
}

/**
 * Connects to the agent and waits until `grpc.Health/Check` answers, retrying (bounded by
 * `dialTimeoutMs`, cancellable). One connection is kept across probes: QEMU's virtio-serial chardev
 * buffers until the guest opens its port.
 */
export async function connectAgent(o: ConnectAgentOptions): Promise<AgentClient> {
  const deadline = withDeadline(o.dialTimeoutMs, o.signal);
  const vm = { gone: false };
  void o.vmExited?.then(() => {
    vm.gone = true;
  });
  let client: AgentClient | undefined;
  let lastErr: unknown;
  const t0 = Date.now();
  while (!deadline.aborted && !vm.gone) {
    try {
      if (client === undefined || client.isClosed) {
        const socket = await connectAgentChannel(o.channel, deadline);
        client = new AgentClient(
          new TtrpcClient(socket, { logger: o.logger }),
          o.logger,
          o.requestTimeoutMs,
        );
      }
      if (await client.healthCheck({ signal: deadline, timeoutMs: PROBE_TIMEOUT_MS })) {
        o.logger.info('agent ready', { wait_ms: Date.now() - t0 });
        return client;
      }
    } catch (err) {
      lastErr = err;
      if (o.signal?.aborted === true) break;
    }
    await sleep(RETRY_MS, deadline).catch(() => undefined);
  }
  await client?.close();
  if (o.signal?.aborted === true) throw abortError(o.signal, 'waiting for the agent');
  if (vm.gone) throw notReady('the VM exited', o, lastErr);
  const why = lastErr === undefined ? '' : ` (last error: ${describeError(lastErr)})`;
  throw notReady(`no answer within ${o.dialTimeoutMs} ms${why}`, o, lastErr);
}
