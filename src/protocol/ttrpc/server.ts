import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { lstat, unlink } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { NULL_LOGGER, sleep, wrapError } from '#src/lib/index.js';
import type { Logger } from '#src/lib/index.js';
import { TtrpcError } from './errors.js';
import { TTRPC_MAX_MESSAGE } from './frame.js';
import type { ServiceHandlers } from './handlers.js';
import { ServerConnection } from './server-connection.js';
import { ServiceRegistry } from './service-registry.js';

export interface TtrpcServerOptions {
  readonly logger?: Logger | undefined;
  /** Largest frame data length sent or accepted (default 4 MiB, as Go). */
  readonly maxMessage?: number | undefined;
  /** Concurrent calls per connection before RESOURCE_EXHAUSTED (default 1024). */
  readonly maxStreamsPerConnection?: number | undefined;
  /** Inbound messages buffered per stream before it fails with ERR_TTRPC_STREAM_FULL (default 128). */
  readonly maxBufferedPerStream?: number | undefined;
}

export interface ServerCloseOptions {
  /** How long running calls may take to answer before connections are cut (default 5000 ms). */
  readonly graceMs?: number | undefined;
}

/**
 * A ttrpc server: register services, then serve connections — one byte stream at a time with
 * serve(), or every connection of a unix socket with listen().
 */
export class TtrpcServer {
  readonly #registry = new ServiceRegistry();
  readonly #log: Logger;
  readonly #opts: Required<{ [K in keyof Omit<TtrpcServerOptions, 'logger'>]: number }>;
  readonly #connections = new Set<ServerConnection>();
  readonly #listeners = new Set<Server>();
  #closing: Promise<void> | undefined;

  constructor(options: TtrpcServerOptions = {}) {
    this.#log = (options.logger ?? NULL_LOGGER).child({ subsystem: 'ttrpc-server' });
    this.#opts = {
      maxMessage: options.maxMessage ?? TTRPC_MAX_MESSAGE,
      maxStreamsPerConnection: options.maxStreamsPerConnection ?? 1024,
      maxBufferedPerStream: options.maxBufferedPerStream ?? 128,
    };
  }

  /** Adds a service (fully qualified name, e.g. `containerd.task.v2.Task`). Duplicates throw already_exists. */
  register(service: string, methods: ServiceHandlers): void {
    this.#registry.register(service, methods);
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Serves one connection; resolves when it has closed and its handlers have returned. */
  async serve(stream: Duplex): Promise<void> {
    if (this.#closing) {
      stream.destroy();
      throw new TtrpcError('unavailable', 'ERR_TTRPC_CLOSED', 'ttrpc server is closed');
    }
    const conn = new ServerConnection(stream, this.#registry, {
      logger: this.#log,
      maxMessage: this.#opts.maxMessage,
      maxStreams: this.#opts.maxStreamsPerConnection,
      maxBuffered: this.#opts.maxBufferedPerStream,
    });
    this.#connections.add(conn);
    try {
      await conn.done();
    } finally {
      this.#connections.delete(conn);
    }
  }

  /**
   * Listens on a unix socket and serves every connection. A stale socket file (nobody accepting) is
   * replaced; a live one is already_exists.
   */
  async listen(
    path: string,
    opts: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<void> {
    if (this.#closing)
      throw new TtrpcError('unavailable', 'ERR_TTRPC_CLOSED', 'ttrpc server is closed');
    await removeStaleSocket(path);
    const listener = createServer((socket: Socket) => {
      this.serve(socket).catch((err: unknown) => {
        this.#log.debug('connection ended', { error: String(err) });
      });
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', (err) => {
        reject(wrapError(err, `cannot listen on ${path}`, 'ERR_TTRPC_CLOSED'));
      });
      listener.listen(path, () => {
        resolve();
      });
    });
    listener.on('error', (err) => {
      this.#log.warn('listener error', { path, error: err.message });
    });
    this.#listeners.add(listener);
    opts.signal?.addEventListener('abort', () => listener.close(), { once: true });
  }

  /**
   * Orderly shutdown: stop accepting, let running calls answer (new requests get UNAVAILABLE), then
   * close connections; after `graceMs` the rest are cut. Idempotent.
   */
  close(opts: ServerCloseOptions = {}): Promise<void> {
    this.#closing ??= this.#shutdown(opts.graceMs ?? 5000);
    return this.#closing;
  }

  async #shutdown(graceMs: number): Promise<void> {
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    // net.Server.close() calls back only once its connections are gone, so await it last
    const stopped = Promise.all(
      listeners.map(
        (l) =>
          new Promise<void>((resolve) => {
            l.close(() => {
              resolve();
            });
          }),
      ),
    );
    const conns = [...this.#connections];
    for (const c of conns) c.drain();
    const all = Promise.all(conns.map((c) => c.done()));
    const grace = new AbortController();
    const timedOut = await Promise.race([
      all.then(() => false),
      sleep(graceMs, grace.signal).then(
        () => true,
        () => false,
      ),
    ]);
    grace.abort();
    if (timedOut) {
      this.#log.warn('shutdown grace elapsed, closing connections', {
        open: this.#connections.size,
      });
      await Promise.all(conns.map((c) => c.destroy()));
    }
    await all;
    await stopped;
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (!st.isSocket()) {
    throw new TtrpcError(
      'already_exists',
      'ERR_TTRPC_CLOSED',
      `cannot listen on ${path}: a file that is not a socket is in the way`,
    );
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => {
      resolve(false);
    });
  });
  if (live)
    throw new TtrpcError(
      'already_exists',
      'ERR_TTRPC_CLOSED',
      `cannot listen on ${path}: another server is accepting there`,
    );
  await unlink(path);
}
