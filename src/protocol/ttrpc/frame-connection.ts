import type { Duplex } from 'node:stream';
import { deferred } from '#src/lib/index.js';
import type { Deferred } from '#src/lib/index.js';
import { closedError } from './errors.js';
import type { TtrpcError } from './errors.js';
import { FrameDecoder } from './frame-decoder.js';
import { encodeFrame } from './frame-encoder.js';
import type { OutgoingFrame } from './frame-encoder.js';
import type { Frame } from './frame.js';

/** Receives what a FrameConnection reads. @internal */
export interface FrameSink {
  onFrame(frame: Frame): void;
  /** Called once, when the byte stream is gone (error, EOF or close()). */
  onClose(err: TtrpcError): void;
}

/**
 * Frames over one byte stream: a read loop feeding a decoder, and writes that honour `write()` /
 * `'drain'` backpressure. ttrpc has no half-close, so EOF from the peer ends the whole connection.
 * @internal
 */
export class FrameConnection {
  readonly #stream: Duplex;
  readonly #sink: FrameSink;
  readonly #decoder: FrameDecoder;
  readonly #maxMessage: number;
  readonly #closed = deferred<undefined>();
  #drain: Deferred<undefined> | undefined;
  #closeError: TtrpcError | undefined;
  #what: string;

  constructor(stream: Duplex, sink: FrameSink, maxMessage: number, what: string) {
    this.#stream = stream;
    this.#sink = sink;
    this.#maxMessage = maxMessage;
    this.#what = what;
    this.#decoder = new FrameDecoder({ maxMessage, oversized: 'discard' });
    stream.on('data', this.#onData);
    stream.resume(); // a transport may hand over a paused stream (hybrid vsock after its handshake)
    stream.on('drain', this.#onDrain);
    stream.once('end', () => stream.destroy());
    stream.once('error', (err: Error) => {
      this.#finish(closedError(`${this.#what}: connection lost: ${err.message}`, err));
    });
    stream.once('close', () => {
      this.#finish(closedError(`${this.#what}: connection closed`));
      this.#closed.resolve(undefined);
    });
    if (stream.destroyed) {
      queueMicrotask(() => {
        this.#finish(closedError(`${what}: connection closed`));
        if (stream.closed) this.#closed.resolve(undefined);
      });
    }
  }

  get isClosed(): boolean {
    return this.#closeError !== undefined;
  }

  /** Resolves once the read loop has stopped and the stream is gone. */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /** Writes one frame; resolves when the stream can take more (backpressure). */
  send(frame: OutgoingFrame): Promise<void> {
    if (this.#closeError) return Promise.reject(this.#closeError);
    const bytes = encodeFrame(frame, this.#maxMessage);
    if (this.#stream.write(bytes)) return Promise.resolve();
    this.#drain ??= deferred<undefined>();
    return this.#drain.promise;
  }

  /** Ends the stream and resolves after it has closed. Idempotent. */
  close(): Promise<void> {
    if (!this.#stream.destroyed) this.#stream.destroy();
    return this.#closed.promise;
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#closeError) return;
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.#stream.destroy(err instanceof Error ? err : undefined);
      return;
    }
    for (const frame of frames) this.#sink.onFrame(frame);
  };

  readonly #onDrain = (): void => {
    const d = this.#drain;
    this.#drain = undefined;
    d?.resolve(undefined);
  };

  #finish(err: TtrpcError): void {
    if (this.#closeError) return;
    this.#closeError = err;
    this.#stream.off('data', this.#onData);
    const d = this.#drain;
    this.#drain = undefined;
    d?.reject(err);
    this.#sink.onClose(err);
    if (!this.#stream.destroyed) this.#stream.destroy();
  }
}
