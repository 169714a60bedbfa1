import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { withDeadline } from '#src/lib/index.js';
import { TransportError } from './errors.js';
import { abortedConnect, connectUnix, DEFAULT_CONNECT_TIMEOUT_MS } from './unix.js';
import type { ConnectOptions } from './unix.js';

/** Longest handshake line accepted (`OK 4294967295\n` is 14 bytes). */
const MAX_LINE = 64;

/**
 * Hybrid vsock (Firecracker / Cloud Hypervisor): connect to the VMM's unix socket, write
 * `CONNECT <port>\n`, read `OK <n>\n`; from then on the socket is the guest port's byte stream.
 * The whole exchange is bounded by `timeoutMs` (default 10 s).
 */
export async function connectHybridVsock(
  udsPath: string,
  port: number,
  opts: ConnectOptions = {},
): Promise<Socket> {
  checkPort(port);
  const target = `${udsPath} port ${port}`;
  const signal = withDeadline(opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, opts.signal);
  const sock = await connectUnix(udsPath, { signal, timeoutMs: opts.timeoutMs });
  try {
    sock.write(`CONNECT ${port}\n`);
    const line = await readLine(sock, signal, target);
    if (!/^OK \d{1,10}$/.test(line)) {
      throw new TransportError(
        'unavailable',
        'ERR_TRANSPORT_HANDSHAKE',
        `hybrid vsock ${target}: expected "OK <port>", got ${JSON.stringify(line.slice(0, MAX_LINE))}`,
      );
    }
    return sock;
  } catch (err) {
    sock.destroy();
    throw err;
  }
}

/** Reads one `\n`-terminated line, pushing back any bytes after it. */
function readLine(sock: Socket, signal: AbortSignal, target: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const cleanup = (): void => {
      sock.off('data', onData);
      sock.off('close', onClose);
      sock.off('error', onClose);
      signal.removeEventListener('abort', onAbort);
    };
    const fail = (err: TransportError): void => {
      cleanup();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(0x0a);
      if (nl < 0) {
        if (buf.length > MAX_LINE) {
          fail(
            new TransportError(
              'unavailable',
              'ERR_TRANSPORT_HANDSHAKE',
              `hybrid vsock ${target}: handshake line too long`,
            ),
          );
        }
        return;
      }
      cleanup();
      handOver(sock, buf.subarray(nl + 1));
      resolve(buf.subarray(0, nl).toString('latin1').replace(/\r$/, ''));
    };
    const onClose = (): void => {
      fail(
        new TransportError(
          'unavailable',
          'ERR_TRANSPORT_HANDSHAKE',
          `hybrid vsock ${target}: connection closed during handshake (is the guest listening on that port?)`,
        ),
      );
    };
    const onAbort = (): void => {
      fail(abortedConnect(signal, `hybrid vsock ${target}`));
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.once('error', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Pauses the socket with the bytes read past the handshake line pushed back, and resumes it as soon
 * as the new owner attaches a 'data' listener, so nothing is lost in between.
 */
function handOver(sock: Socket, rest: Buffer): void {
  sock.pause();
  if (rest.length > 0) sock.unshift(rest);
  const onListener = (event: string | symbol): void => {
    if (event !== 'data') return;
    sock.off('newListener', onListener);
    process.nextTick(() => sock.resume());
  };
  sock.on('newListener', onListener);
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffffffff) {
    throw new TransportError(
      'invalid_argument',
      'ERR_TRANSPORT_CONNECT',
      `vsock port must be a u32, got ${port}`,
    );
  }
}

export interface HybridVsockListener {
  readonly path: string;
  close(): Promise<void>;
}

/**
 * The VMM side of hybrid vsock, for tests and tools: accepts on `udsPath`, reads `CONNECT <port>\n`,
 * and when `route(port)` returns a handler answers `OK <port>\n` and hands it the socket; otherwise
 * closes the socket, as a VMM does when nothing listens on that guest port.
 */
export async function listenHybridVsock(
  udsPath: string,
  route: (port: number) => ((socket: Socket) => void) | undefined,
): Promise<HybridVsockListener> {
  const handshaking = new Set<Socket>();
  const server: Server = createServer((sock) => {
    const signal = AbortSignal.timeout(DEFAULT_CONNECT_TIMEOUT_MS);
    handshaking.add(sock);
    readLine(sock, signal, udsPath).then(
      (line) => {
        handshaking.delete(sock);
        const m = /^CONNECT (\d{1,10})$/.exec(line);
        const port = m ? Number(m[1]) : NaN;
        const handler = m && port <= 0xffffffff ? route(port) : undefined;
        if (!handler) {
          sock.destroy();
          return;
        }
        sock.write(`OK ${port}\n`);
        handler(sock);
      },
      () => {
        handshaking.delete(sock);
        sock.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(udsPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    path: udsPath,
    // connections handed over belong to their handlers; only half-open handshakes are cut here
    close: () =>
      new Promise<void>((resolve) => {
        for (const sock of handshaking) sock.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
