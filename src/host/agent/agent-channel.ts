import { createConnection, type Socket } from 'node:net';
import { abortable } from '#src/lib/index.js';
import { AgentError } from './errors.js';

/** How the host reaches the agent (mirrors the hypervisor's agent channel). */
export type AgentChannel =
  | { readonly kind: 'virtio-serial'; readonly socketPath: string }
  | { readonly kind: 'hybrid-vsock'; readonly socketPath: string; readonly port: number }
  | { readonly kind: 'vsock'; readonly guestCid: number; readonly port: number };

function connectUnixSocket(path: string, signal?: AbortSignal): Promise<Socket> {
  const s = createConnection(path);
  const connected = new Promise<Socket>((resolve, reject) => {
    s.once('connect', () => {
      resolve(s);
    });
    s.once('error', (err) => {
      reject(
        new AgentError(
          'unavailable',
          'ERR_AGENT_CONNECT',
          `cannot connect to ${path}: ${err.message}`,
          { cause: err },
        ),
      );
    });
  });
  return abortable(connected, signal, `connect ${path}`).catch((err: unknown) => {
    s.destroy();
    throw err;
  });
}

/** Reads one line (the hybrid vsock `OK <port>` answer) without consuming more than it. */
function readLine(s: Socket, signal?: AbortSignal): Promise<string> {
  const line = new Promise<string>((resolve, reject) => {
    let buf = '';
    const onReadable = (): void => {
      for (let b = s.read(1) as Buffer | null; b !== null; b = s.read(1) as Buffer | null) {
        buf += b.toString('latin1');
        if (buf.endsWith('\n')) {
          s.off('readable', onReadable);
          resolve(buf.trimEnd());
          return;
        }
        if (buf.length > 64) {
          s.off('readable', onReadable);
          reject(
            new AgentError(
              'unavailable',
              'ERR_AGENT_CONNECT',
              'hybrid vsock: answer line too long',
            ),
          );
          return;
        }
      }
    };
    s.on('readable', onReadable);
    s.once('close', () => {
      reject(
        new AgentError(
          'unavailable',
          'ERR_AGENT_CONNECT',
          'hybrid vsock: connection closed before OK',
        ),
      );
    });
  });
  return abortable(line, signal, 'hybrid vsock handshake');
}

/** Opens a byte stream to the agent: the unix socket of QEMU's virtio-serial chardev, or hybrid vsock. */
export async function connectAgentChannel(ch: AgentChannel, signal?: AbortSignal): Promise<Socket> {
  switch (ch.kind) {
    case 'virtio-serial':
      return connectUnixSocket(ch.socketPath, signal);
    case 'hybrid-vsock': {
      const s = await connectUnixSocket(ch.socketPath, signal);
      try {
        s.write(`CONNECT ${ch.port}\n`);
        const answer = await readLine(s, signal);
        if (!/^OK \d+$/.test(answer)) {
          throw new AgentError(
            'unavailable',
            'ERR_AGENT_CONNECT',
            `hybrid vsock: unexpected answer ${JSON.stringify(answer)}`,
          );
        }
        return s;
      } catch (err) {
        s.destroy();
        throw err;
      }
    }
    case 'vsock':
      throw new AgentError(
        'unimplemented',
        'ERR_AGENT_CONNECT',
        'vsock is not available on this host (no vhost-vsock)',
      );
  }
}
