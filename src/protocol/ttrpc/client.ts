import type { Duplex } from 'node:stream';
import { deferred, NULL_LOGGER } from '#src/lib/index.js';
import type { Logger } from '#src/lib/index.js';
import { abortedCallError, callSignal, timeoutNano } from './call-signal.js';
import type { CallOptions } from './call-signal.js';
import { ClientStreamState } from './client-stream.js';
import type { ClientStream, StreamHost, StreamOptions } from './client-stream.js';
import { decodeResponse, encodeRequest } from './envelope.js';
import { closedError, tooLargeError, TtrpcError } from './errors.js';
import { FrameConnection } from './frame-connection.js';
import type { OutgoingFrame } from './frame-encoder.js';
import { FRAME_TYPE, REQUEST_FLAG, TTRPC_MAX_MESSAGE } from './frame.js';
import type { Frame } from './frame.js';
import { toKeyValues } from './metadata.js';

export interface TtrpcClientOptions {
  readonly logger?: Logger | undefined;
  /** Largest frame data length sent or accepted (default 4 MiB, as Go). */
  readonly maxMessage?: number | undefined;
}

/** Something waiting for frames on one stream id. */
interface Receiver {
  onFrame(frame: Frame): void;
  fail(err: Error): void;
}

const MAX_STREAM_ID = 0xffffffff;

/**
 * A ttrpc client over any byte stream (unix socket, vsock, virtio-serial port). Many calls run
 * concurrently on the one connection; losing it fails every pending call promptly with `unavailable`.
 */
export class TtrpcClient {
  readonly #conn: FrameConnection;
  readonly #log: Logger;
  readonly #maxMessage: number;
  readonly #receivers = new Map<number, Receiver>();
  readonly #host: StreamHost;
  #nextId = 1;
  #closeError: TtrpcError | undefined;

  constructor(stream: Duplex, options: TtrpcClientOptions = {}) {
    this.#log = (options.logger ?? NULL_LOGGER).child({ subsystem: 'ttrpc-client' });
    this.#maxMessage = options.maxMessage ?? TTRPC_MAX_MESSAGE;
    this.#conn = new FrameConnection(
      stream,
      {
        onFrame: (f) => {
          this.#onFrame(f);
        },
        onClose: (err) => {
          this.#onClose(err);
        },
      },
      this.#maxMessage,
      'ttrpc client',
    );
    this.#host = {
      sendFrame: (frame) => this.#conn.send(frame),
      release: (id) => this.#receivers.delete(id),
    };
  }

  /** True once the connection is gone or close() was called. */
  get isClosed(): boolean {
    return this.#closeError !== undefined;
  }

  /** Resolves when the connection has closed (for any reason). */
  get closed(): Promise<void> {
    return this.#conn.closed;
  }

  /** Number of calls and streams waiting for an answer. */
  get pendingCount(): number {
    return this.#receivers.size;
  }

  /** One unary call. A non-OK status rejects with a TtrpcError whose kind follows the gRPC code. */
  async call(
    service: string,
    method: string,
    payload: Uint8Array,
    opts: CallOptions = {},
  ): Promise<Uint8Array> {
    const what = `ttrpc call ${service}/${method}`;
    const signal = callSignal(opts);
    if (signal?.aborted) throw abortedCallError(signal, what);
    const id = this.#allocate(what);
    const result = deferred<Uint8Array>();
    result.promise.catch(() => undefined); // may settle after a failed write; awaited below otherwise
    this.#receivers.set(id, {
      onFrame: (frame) => {
        if (frame.type !== FRAME_TYPE.response) return;
        this.#receivers.delete(id);
        const decoded = decodeResponse(frame.payload, what);
        if (decoded instanceof Error) result.reject(decoded);
        else result.resolve(decoded);
      },
      fail: (err) => {
        result.reject(err);
      },
    });
    const onAbort = (): void => {
      if (!this.#receivers.delete(id)) return;
      result.reject(abortedCallError(signal as AbortSignal, what));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.#sendRequest(id, service, method, payload, opts, 0);
      return await result.promise;
    } finally {
      this.#receivers.delete(id);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Opens a stream. `streamingClient` (default true) lets the caller send data frames and closeSend();
   * `streamingServer` (default true) means the server answers with data frames. The request frame is
   * written at once; its failure, like any later one, fails the stream's iterator and `response`.
   */
  stream(service: string, method: string, opts: StreamOptions = {}): ClientStream {
    const what = `ttrpc stream ${service}/${method}`;
    const signal = callSignal(opts);
    const id = this.#allocate(what);
    const stream = new ClientStreamState(this.#host, id, what, opts);
    if (signal?.aborted) {
      stream.fail(abortedCallError(signal, what));
      return stream;
    }
    this.#receivers.set(id, stream);
    if (signal) {
      const onAbort = (): void => {
        stream.fail(abortedCallError(signal, what));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const detach = (): void => {
        signal.removeEventListener('abort', onAbort);
      };
      stream.response.then(detach, detach);
    }
    const flags =
      (opts.streamingClient ?? true) ? REQUEST_FLAG.remoteOpen : REQUEST_FLAG.remoteClosed;
    this.#sendRequest(id, service, method, opts.payload ?? new Uint8Array(0), opts, flags).catch(
      (err: unknown) => {
        stream.fail(err instanceof Error ? err : closedError(what));
      },
    );
    return stream;
  }

  /** Closes the connection; pending calls fail with ERR_TTRPC_CLOSED. Idempotent; resolves when the read loop has stopped. */
  close(): Promise<void> {
    return this.#conn.close();
  }

  #allocate(what: string): number {
    if (this.#closeError)
      throw closedError(`${what}: ${this.#closeError.message}`, this.#closeError);
    const id = this.#nextId;
    if (id > MAX_STREAM_ID) {
      throw new TtrpcError(
        'resource_exhausted',
        'ERR_TTRPC_CLOSED',
        `${what}: stream ids exhausted on this connection`,
      );
    }
    this.#nextId += 2;
    return id;
  }

  async #sendRequest(
    id: number,
    service: string,
    method: string,
    payload: Uint8Array,
    opts: CallOptions,
    flags: number,
  ): Promise<void> {
    const body = encodeRequest({
      service,
      method,
      payload: payload as Buffer,
      timeout_nano: timeoutNano(opts),
      metadata: toKeyValues(opts.metadata),
    });
    if (body.length > this.#maxMessage) throw tooLargeError(body.length, this.#maxMessage);
    const frame: OutgoingFrame = { streamId: id, type: 'request', flags, payload: body };
    await this.#conn.send(frame);
  }

  #onFrame(frame: Frame): void {
    const receiver = this.#receivers.get(frame.streamId);
    if (!receiver) {
      this.#log.debug('frame for unknown stream', { stream_id: frame.streamId, type: frame.type });
      return;
    }
    if (frame.discardedLength !== undefined) {
      this.#receivers.delete(frame.streamId);
      receiver.fail(tooLargeError(frame.discardedLength, this.#maxMessage));
      return;
    }
    receiver.onFrame(frame);
  }

  #onClose(err: TtrpcError): void {
    this.#closeError = err;
    const receivers = [...this.#receivers.values()];
    this.#receivers.clear();
    for (const r of receivers) r.fail(err);
  }
}
