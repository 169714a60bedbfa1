import { deferred } from '#src/lib/index.js';
import { TtrpcError } from './errors.js';
import type { OutgoingFrame } from './frame-encoder.js';
import { DATA_FLAG, EMPTY_PAYLOAD, FRAME_TYPE } from './frame.js';
import type { Frame } from './frame.js';
import { MessageQueue } from './message-queue.js';
import { decodeResponse } from './envelope.js';
import type { CallOptions } from './call-signal.js';

export interface StreamOptions extends CallOptions {
  /** The client sends data frames after the request (client- or bidi-streaming). Default true. */
  readonly streamingClient?: boolean | undefined;
  /** The server answers with data frames (server- or bidi-streaming). Default true. */
  readonly streamingServer?: boolean | undefined;
  /** Payload of the request frame (the request message of a server-streaming call). */
  readonly payload?: Uint8Array | undefined;
  /** Received messages buffered before the stream fails with ERR_TTRPC_STREAM_FULL (default 128). */
  readonly maxBuffered?: number | undefined;
}

/** The caller's side of one ttrpc stream. Iterate it for the payloads the server sends. */
export interface ClientStream extends AsyncIterable<Uint8Array> {
  readonly streamId: number;
  /** Sends one data frame (client-/bidi-streaming only). */
  send(payload: Uint8Array): Promise<void>;
  /** Half-closes: a data frame with `remote closed | no data`. Idempotent. */
  closeSend(): Promise<void>;
  /** The final payload (from a Response), empty when the server ended with a closing data frame. */
  readonly response: Promise<Uint8Array>;
}

/** What a stream needs from its client. @internal */
export interface StreamHost {
  sendFrame(frame: OutgoingFrame): Promise<void>;
  release(streamId: number): void;
}

/** @internal */
export class ClientStreamState implements ClientStream {
  readonly streamId: number;
  readonly response: Promise<Uint8Array>;
  readonly #host: StreamHost;
  readonly #queue: MessageQueue<Uint8Array>;
  readonly #result = deferred<Uint8Array>();
  readonly #streamingClient: boolean;
  #localClosed: boolean;
  #finished = false;
  #what: string;

  constructor(host: StreamHost, streamId: number, what: string, opts: StreamOptions) {
    this.#host = host;
    this.streamId = streamId;
    this.#what = what;
    this.#streamingClient = opts.streamingClient ?? true;
    this.#localClosed = !this.#streamingClient;
    this.#queue = new MessageQueue(opts.maxBuffered ?? 128);
    this.response = this.#result.promise;
    this.response.catch(() => undefined); // observed through the iterator or `response`
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#queue[Symbol.asyncIterator]();
  }

  async send(payload: Uint8Array): Promise<void> {
    this.#checkSendable('send');
    await this.#host.sendFrame({ streamId: this.streamId, type: 'data', flags: 0, payload });
  }

  async closeSend(): Promise<void> {
    if (this.#localClosed || this.#finished) return;
    this.#localClosed = true;
    const flags = DATA_FLAG.remoteClosed | DATA_FLAG.noData;
    await this.#host.sendFrame({
      streamId: this.streamId,
      type: 'data',
      flags,
      payload: EMPTY_PAYLOAD,
    });
  }

  /** A frame for this stream id. */
  onFrame(frame: Frame): void {
    if (this.#finished) return;
    if (frame.type === FRAME_TYPE.response) {
      this.#onResponse(frame.payload);
      return;
    }
    if (frame.type !== FRAME_TYPE.data) return;
    if ((frame.flags & DATA_FLAG.noData) === 0 && !this.#queue.push(frame.payload)) {
      this.fail(
        new TtrpcError(
          'resource_exhausted',
          'ERR_TTRPC_STREAM_FULL',
          `${this.#what}: receive buffer full`,
        ),
      );
      return;
    }
    if ((frame.flags & DATA_FLAG.remoteClosed) !== 0) this.#complete(EMPTY_PAYLOAD);
  }

  fail(err: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#queue.fail(err);
    this.#result.reject(err);
    this.#host.release(this.streamId);
  }

  #onResponse(bytes: Uint8Array): void {
    const decoded = decodeResponse(bytes, this.#what);
    if (decoded instanceof Error) this.fail(decoded);
    else this.#complete(decoded);
  }

  #complete(payload: Uint8Array): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#queue.end();
    this.#result.resolve(payload);
    this.#host.release(this.streamId);
  }

  #checkSendable(op: string): void {
    if (!this.#streamingClient) {
      throw new TtrpcError(
        'failed_precondition',
        'ERR_TTRPC_STREAM_STATE',
        `${this.#what}: cannot ${op} on a non-client-streaming call`,
      );
    }
    if (this.#localClosed || this.#finished) {
      throw new TtrpcError(
        'failed_precondition',
        'ERR_TTRPC_STREAM_STATE',
        `${this.#what}: cannot ${op} after the send side is closed`,
      );
    }
  }
}
