import { TtrpcError } from './errors.js';
import type { FrameConnection } from './frame-connection.js';
import type { ServerStream, StreamingKind } from './handlers.js';
import { MessageQueue } from './message-queue.js';

/** The server's side of one stream: inbound data frames queued, outbound sent as data frames. @internal */
export class ServerStreamState implements ServerStream {
  readonly payload: Uint8Array;
  readonly inbound: MessageQueue<Uint8Array> | undefined;
  readonly #conn: FrameConnection;
  readonly #streamId: number;
  readonly #kind: StreamingKind;
  readonly #what: string;
  #finished = false;

  constructor(
    conn: FrameConnection,
    streamId: number,
    kind: StreamingKind,
    payload: Uint8Array,
    maxBuffered: number,
    what: string,
  ) {
    this.#conn = conn;
    this.#streamId = streamId;
    this.#kind = kind;
    this.payload = payload;
    this.#what = what;
    this.inbound = kind === 'server' ? undefined : new MessageQueue(maxBuffered);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (!this.inbound) {
      throw new TtrpcError(
        'failed_precondition',
        'ERR_TTRPC_STREAM_STATE',
        `${this.#what}: a server-streaming call has no inbound messages; use stream.payload`,
      );
    }
    return this.inbound[Symbol.asyncIterator]();
  }

  async send(payload: Uint8Array): Promise<void> {
    if (this.#kind === 'client') {
      throw new TtrpcError(
        'failed_precondition',
        'ERR_TTRPC_STREAM_STATE',
        `${this.#what}: a client-streaming call answers once; return the response instead of send()`,
      );
    }
    if (this.#finished) {
      throw new TtrpcError(
        'failed_precondition',
        'ERR_TTRPC_STREAM_STATE',
        `${this.#what}: stream is finished`,
      );
    }
    await this.#conn.send({ streamId: this.#streamId, type: 'data', flags: 0, payload });
  }

  finish(): void {
    this.#finished = true;
  }
}
