import type { Readable } from 'node:stream';
import { abortable, deferred } from '#src/lib/index.js';
import { SandboxError } from './errors.js';

/** Default bound of one process stream buffer; beyond it the pipe is paused (the writer blocks). */
export const OUTPUT_BUFFER_BYTES = 1 << 20;

/**
 * A bounded buffer over one output pipe of a container process with Kata's ReadStdout
 * semantics: `read(len)` returns whatever is available up to `len` bytes, waits while nothing is
 * available, and after the writer closed and the buffer drained fails with ERR_SANDBOX_EOF.
 * When the buffer holds `capacity` bytes the pipe is paused, so a process that writes faster than
 * the host reads blocks instead of growing agent memory.
 */
export class OutputBuffer {
  readonly #capacity: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #ended = false;
  #error: Error | undefined;
  #source: Readable | undefined;
  #wake: (() => void)[] = [];
  #reading: Promise<unknown> = Promise.resolve();
  readonly #drained = deferred<undefined>();

  constructor(capacity = OUTPUT_BUFFER_BYTES) {
    this.#capacity = capacity;
  }

  /** Starts draining `source` into the buffer. */
  attach(source: Readable): void {
    this.#source = source;
    source.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#size += chunk.length;
      if (this.#size >= this.#capacity) source.pause();
      this.#notify();
    });
    source.on('end', () => {
      this.#ended = true;
      this.#notify();
    });
    source.on('close', () => {
      this.#ended = true;
      this.#notify();
    });
    source.on('error', (err) => {
      this.#error = err;
      this.#ended = true;
      this.#notify();
    });
  }

  /** Marks the stream finished when there is no source (e.g. a process without this stream). */
  end(): void {
    this.#ended = true;
    if (this.#source === undefined && this.#size === 0) this.#drained.resolve(undefined);
    this.#notify();
  }

  get buffered(): number {
    return this.#size;
  }

  get isEnded(): boolean {
    return this.#ended && this.#size === 0;
  }

  /**
   * Resolves once a reader was told end-of-file (every byte read), or at `end()` of a buffer that
   * never had a source.
   */
  get drained(): Promise<undefined> {
    return this.#drained.promise;
  }

  /** Up to `len` bytes (≥ 1), waiting for data; ERR_SANDBOX_EOF once drained and closed. */
  read(len: number, signal?: AbortSignal): Promise<Buffer> {
    const next = this.#reading.then(() => this.#readNow(len, signal));
    this.#reading = next.catch(() => undefined);
    return next;
  }

  async #readNow(len: number, signal?: AbortSignal): Promise<Buffer> {
    while (this.#size === 0) {
      if (this.#ended) {
        this.#drained.resolve(undefined);
        if (this.#error)
          throw new SandboxError(
            'internal',
            'ERR_SANDBOX_IO',
            `read failed: ${this.#error.message}`,
          );
        throw new SandboxError('internal', 'ERR_SANDBOX_EOF', 'eof');
      }
      await abortable(
        new Promise<void>((resolve) => this.#wake.push(resolve)),
        signal,
        'read stream',
      );
    }
    return this.#take(Math.max(1, len));
  }

  #take(len: number): Buffer {
    const out: Buffer[] = [];
    let want = len;
    while (want > 0 && this.#chunks.length > 0) {
      const head = this.#chunks[0];
      if (head === undefined) break;
      if (head.length <= want) {
        out.push(head);
        this.#chunks.shift();
        want -= head.length;
      } else {
        out.push(head.subarray(0, want));
        this.#chunks[0] = head.subarray(want);
        want = 0;
      }
    }
    const data = out.length === 1 && out[0] ? out[0] : Buffer.concat(out);
    this.#size -= data.length;
    if (this.#size < this.#capacity && this.#source?.isPaused() === true) this.#source.resume();
    return data;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = [];
    for (const w of wake) w();
  }
}
