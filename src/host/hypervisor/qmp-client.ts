import { connect, type Socket } from 'node:net';
import {
  abortError,
  deferred,
  isSystemError,
  NULL_LOGGER,
  sleep,
  type Deferred,
  type Logger,
} from '#src/lib/index.js';
import { HypervisorError } from './errors.js';
import { QmpDecoder, type QmpMessage } from './qmp-decoder.js';

export interface QmpEvent {
  readonly event: string;
  readonly data: unknown;
  readonly timestamp: unknown;
}

export interface QmpConnectOptions {
  readonly signal?: AbortSignal | undefined;
  readonly logger?: Logger | undefined;
  /** How long to keep retrying while the socket does not exist yet (default 10 s). */
  readonly timeoutMs?: number | undefined;
  /** Stop retrying early when this says the peer is gone (e.g. QEMU exited). */
  readonly isPeerGone?: (() => boolean) | undefined;
}

export interface QmpStatus {
  readonly status: string;
  readonly running: boolean;
}

type EventListener = (e: QmpEvent) => void;

function closedError(what: string): HypervisorError {
  return new HypervisorError(
    'unavailable',
    'ERR_QMP_CLOSED',
    `${what}: the qmp connection is closed (qemu exited?)`,
  );
}

async function dial(path: string, o: QmpConnectOptions): Promise<Socket> {
  const deadline = Date.now() + (o.timeoutMs ?? 10_000);
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(path);
        s.once('connect', () => {
          s.removeListener('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      });
    } catch (err) {
      const retriable = isSystemError(err, 'ENOENT') || isSystemError(err, 'ECONNREFUSED');
      if (!retriable || Date.now() > deadline || o.isPeerGone?.() === true) {
        throw new HypervisorError(
          'unavailable',
          'ERR_QMP_CLOSED',
          `cannot connect to qmp socket ${path}: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
    }
    await sleep(20, o.signal);
  }
}

/**
 * A QMP client over a unix socket: greeting + qmp_capabilities, commands matched by id, events to
 * listeners or an async iterable. When the socket closes every pending command fails `unavailable`.
 */
export class QmpClient {
  readonly #socket: Socket;
  readonly #log: Logger;
  readonly #decoder = new QmpDecoder();
  readonly #pending = new Map<number, { d: Deferred<unknown>; cmd: string }>();
  readonly #listeners = new Set<EventListener>();
  readonly #closed = deferred<undefined>();
  readonly #greeting = deferred<unknown>();
  #nextId = 1;
  #isClosed = false;

  private constructor(socket: Socket, log: Logger) {
    this.#socket = socket;
    this.#log = log;
    socket.on('data', (chunk: Buffer) => {
      this.#onData(chunk);
    });
    socket.on('error', (err) => {
      this.#log.debug('qmp socket error', { error: err });
    });
    socket.on('close', () => {
      this.#onClose();
    });
  }

  /** Connects (retrying while the socket is not there yet), reads the greeting and negotiates capabilities. */
  static async connect(path: string, options: QmpConnectOptions = {}): Promise<QmpClient> {
    const log = (options.logger ?? NULL_LOGGER).child({ subsystem: 'qmp' });
    const socket = await dial(path, options);
    const client = new QmpClient(socket, log);
    try {
      await client.#waitGreeting(options.signal);
      await client.execute('qmp_capabilities', undefined, { signal: options.signal });
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  }

  /** Resolves when the connection has closed, for whatever reason. */
  get closed(): Promise<undefined> {
    return this.#closed.promise;
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  async #waitGreeting(signal?: AbortSignal): Promise<void> {
    const onAbort = (): void => {
      this.#greeting.reject(abortError(signal as AbortSignal, 'qmp greeting'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([
        this.#greeting.promise,
        this.#closed.promise.then(() => Promise.reject(closedError('qmp greeting'))),
      ]);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Runs a QMP command; rejects ERR_QMP_COMMAND with QEMU's error class and description. */
  execute<T = unknown>(
    command: string,
    args?: Readonly<Record<string, unknown>>,
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<T> {
    if (this.#isClosed) return Promise.reject(closedError(command));
    if (options.signal?.aborted === true)
      return Promise.reject(abortError(options.signal, `qmp ${command}`));
    const id = this.#nextId++;
    const d = deferred<unknown>();
    this.#pending.set(id, { d, cmd: command });
    const signal = options.signal;
    const onAbort = (): void => {
      this.#pending.delete(id);
      d.reject(abortError(signal as AbortSignal, `qmp ${command}`));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const msg = JSON.stringify(
      args === undefined ? { execute: command, id } : { execute: command, arguments: args, id },
    );
    if (this.#log.trace.enabled('qmp')) this.#log.debug('qmp send', { cmd: command, id });
    this.#socket.write(msg + '\n');
    return d.promise.finally(() => {
      signal?.removeEventListener('abort', onAbort);
    }) as Promise<T>;
  }

  async queryStatus(
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<QmpStatus> {
    const r = await this.execute<{ status?: unknown; running?: unknown }>(
      'query-status',
      undefined,
      options,
    );
    return {
      status: typeof r.status === 'string' ? r.status : 'unknown',
      running: r.running === true,
    };
  }

  async stop(options: { readonly signal?: AbortSignal | undefined } = {}): Promise<void> {
    await this.execute('stop', undefined, options);
  }

  async cont(options: { readonly signal?: AbortSignal | undefined } = {}): Promise<void> {
    await this.execute('cont', undefined, options);
  }

  /** Asks QEMU to exit. QEMU may close the socket before replying; that counts as success. */
  async quit(options: { readonly signal?: AbortSignal | undefined } = {}): Promise<void> {
    try {
      await this.execute('quit', undefined, options);
    } catch (err) {
      if (!(err instanceof HypervisorError && err.code === 'ERR_QMP_CLOSED')) throw err;
    }
  }

  /** Calls `listener` for every event; returns the function that removes it. */
  onEvent(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Events as an async iterable that ends when the connection closes or `signal` aborts. */
  async *events(signal?: AbortSignal): AsyncGenerator<QmpEvent> {
    const queue: QmpEvent[] = [];
    let wake: (() => void) | undefined;
    const off = this.onEvent((e) => {
      if (queue.length >= 1024) queue.shift();
      queue.push(e);
      wake?.();
    });
    const onEnd = (): void => wake?.();
    void this.#closed.promise.then(onEnd);
    signal?.addEventListener('abort', onEnd, { once: true });
    try {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (this.#isClosed || signal?.aborted === true) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      off();
      signal?.removeEventListener('abort', onEnd);
    }
  }

  /** Closes the connection; resolves once it is closed. Idempotent. */
  async close(): Promise<void> {
    if (!this.#socket.destroyed) this.#socket.destroy();
    await this.#closed.promise;
  }

  #onData(chunk: Buffer): void {
    let messages: QmpMessage[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (err) {
      this.#log.warn('qmp protocol error', { error: err });
      this.#socket.destroy();
      return;
    }
    for (const m of messages) this.#dispatch(m);
  }

  #dispatch(m: QmpMessage): void {
    switch (m.type) {
      case 'greeting':
        this.#greeting.resolve(m.version);
        return;
      case 'event': {
        if (this.#log.trace.enabled('qmp')) this.#log.debug('qmp event', { event: m.event });
        const e: QmpEvent = { event: m.event, data: m.data, timestamp: m.timestamp };
        for (const l of [...this.#listeners]) l(e);
        return;
      }
      case 'return':
      case 'error': {
        const id = typeof m.id === 'number' ? m.id : -1;
        const p = this.#pending.get(id);
        if (p === undefined) return;
        this.#pending.delete(id);
        if (m.type === 'return') p.d.resolve(m.value);
        else
          p.d.reject(
            new HypervisorError(
              'internal',
              'ERR_QMP_COMMAND',
              `qmp ${p.cmd} failed: ${m.errorClass}: ${m.desc}`,
            ),
          );
      }
    }
  }

  #onClose(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    for (const [, p] of this.#pending) p.d.reject(closedError(`qmp ${p.cmd}`));
    this.#pending.clear();
    this.#greeting.reject(closedError('qmp greeting'));
    void this.#greeting.promise.catch(() => undefined);
    this.#closed.resolve(undefined);
  }
}
