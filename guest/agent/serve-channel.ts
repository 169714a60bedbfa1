import { mkdir } from 'node:fs/promises';
import type { Logger } from '#src/lib/index.js';
import { sleep } from '#src/lib/index.js';
import {
  VirtioSerialPort,
  VsockListener,
  assertVsock,
  type VsockBinding,
} from '#src/protocol/transport/index.js';
import type { AgentChannel } from '#guest/config/index.js';
import { AgentError } from './errors.js';
import type { AgentServer } from './agent-server.js';

/** How long to wait for the agent's virtio-serial port to appear at boot. */
const PORT_WAIT_MS = 10_000;

/**
 * Serves the agent API on the configured channel until `signal` aborts. virtio-serial: each host
 * session of the port is served in turn (the host may reconnect; EOF is never final). unix: every
 * connection of the socket. vsock: every accepted connection, through the native addon's binding
 * (refused with a clear error when the addon is missing or the kernel has no AF_VSOCK).
 * Resolves once serving has started; `done` settles when it stops.
 */
export async function serveChannel(
  server: AgentServer,
  channel: AgentChannel,
  log: Logger,
  signal: AbortSignal,
  vsock?: VsockBinding,
): Promise<{ done: Promise<void> }> {
  switch (channel.kind) {
    case 'unix':
      await server.listen(channel.path);
      return {
        done: new Promise((resolve) => {
          signal.addEventListener(
            'abort',
            () => {
              resolve();
            },
            { once: true },
          );
        }),
      };
    case 'vsock': {
      if (!vsock)
        throw new AgentError(
          'unimplemented',
          'ERR_AGENT_CONFIG',
          `agent.channel=vsock:${channel.port}: no vsock binding given`,
        );
      assertVsock(vsock);
      const listener = new VsockListener(vsock, channel.port);
      signal.addEventListener('abort', () => void listener.close(), { once: true });
      const done = (async () => {
        const sessions: Promise<void>[] = [];
        for await (const conn of listener.connections()) {
          log.debug('host connected');
          sessions.push(
            server.serve(conn).catch((err: unknown) => {
              log.warn('session ended with an error', { error: err });
            }),
          );
        }
        await Promise.all(sessions);
      })();
      return { done };
    }
    case 'virtio-serial': {
      const port = await openPort(channel.path, log, signal);
      const done = (async () => {
        for await (const session of port.connections()) {
          log.debug('host connected');
          await server.serve(session).catch((err: unknown) => {
            log.warn('session ended with an error', { error: err });
          });
          log.debug('host disconnected');
        }
      })();
      return { done };
    }
  }
}

async function openPort(path: string, log: Logger, signal: AbortSignal): Promise<VirtioSerialPort> {
  const deadline = Date.now() + PORT_WAIT_MS;
  for (;;) {
    try {
      return await VirtioSerialPort.open(path, { logger: log, signal });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50, signal);
    }
  }
}

/** Creates the agent's private directories. */
export async function prepareDirs(dirs: readonly string[]): Promise<void> {
  for (const d of dirs) await mkdir(d, { recursive: true, mode: 0o755 });
}
