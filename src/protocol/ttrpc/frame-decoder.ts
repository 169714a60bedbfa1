import type { TtrpcError } from './errors.js';
import { tooLargeError } from './errors.js';
import { EMPTY_PAYLOAD, TTRPC_HEADER_LENGTH, TTRPC_MAX_MESSAGE } from './frame.js';
import type { Frame } from './frame.js';

export interface FrameDecoderOptions {
  /** Largest accepted data length (default 4 MiB). */
  readonly maxMessage?: number | undefined;
  /**
   * What to do with a frame over the limit. `throw` (default): push() throws
   * ERR_TTRPC_MESSAGE_TOO_LARGE and the decoder is unusable. `discard`: like the Go implementation,
   * skip the body without buffering it and yield a frame with `discardedLength` so the caller can
   * answer RESOURCE_EXHAUSTED on that stream and keep the connection.
   */
  readonly oversized?: 'throw' | 'discard' | undefined;
}

/**
 * Pure ttrpc frame decoder: bytes in, whole frames out; no sockets, timers or logging. The length is
 * checked against the limit as soon as a header is complete, before any body byte is buffered.
 */
export class FrameDecoder {
  readonly #maxMessage: number;
  readonly #discard: boolean;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #skip = 0;
  #failed: TtrpcError | undefined;

  constructor(options: FrameDecoderOptions = {}) {
    this.#maxMessage = options.maxMessage ?? TTRPC_MAX_MESSAGE;
    this.#discard = options.oversized === 'discard';
  }

  /** Bytes buffered towards the next frame (never more than one header plus one allowed body). */
  get bufferedBytes(): number {
    return this.#pendingBytes;
  }

  push(chunk: Uint8Array): Frame[] {
    if (this.#failed) throw this.#failed;
    const frames: Frame[] = [];
    let buf = chunk;
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, buf.length);
      this.#skip -= n;
      buf = buf.subarray(n);
    }
    if (buf.length === 0) return frames;
    if (this.#pendingBytes > 0) {
      this.#pending.push(buf);
      this.#pendingBytes += buf.length;
      if (this.#pendingBytes < TTRPC_HEADER_LENGTH) return frames;
      const head = this.#join(TTRPC_HEADER_LENGTH);
      const length = readU32(head, 0);
      if (length <= this.#maxMessage && this.#pendingBytes < TTRPC_HEADER_LENGTH + length) {
        return frames; // an allowed body still incomplete: keep the chunks, copy nothing yet
      }
      buf = this.#join(this.#pendingBytes);
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    const off = this.#decodeFrom(buf, frames);
    if (off < buf.length) {
      this.#pending = [buf.subarray(off)];
      this.#pendingBytes = buf.length - off;
    }
    return frames;
  }

  /** Decodes whole frames from `buf` into `frames`; returns the offset of the first unused byte. */
  #decodeFrom(buf: Uint8Array, frames: Frame[]): number {
    let off = 0;
    while (buf.length - off >= TTRPC_HEADER_LENGTH) {
      const length = readU32(buf, off);
      const streamId = readU32(buf, off + 4);
      const type = buf[off + 8] ?? 0;
      const flags = buf[off + 9] ?? 0;
      if (length > this.#maxMessage) {
        const err = tooLargeError(length, this.#maxMessage);
        if (!this.#discard) {
          this.#failed = err;
          throw err;
        }
        frames.push({ streamId, type, flags, payload: EMPTY_PAYLOAD, discardedLength: length });
        const skipNow = Math.min(buf.length - off - TTRPC_HEADER_LENGTH, length);
        off += TTRPC_HEADER_LENGTH + skipNow;
        this.#skip = length - skipNow;
        if (this.#skip > 0) return buf.length;
        continue;
      }
      const end = off + TTRPC_HEADER_LENGTH + length;
      if (end > buf.length) break;
      frames.push({ streamId, type, flags, payload: buf.subarray(off + TTRPC_HEADER_LENGTH, end) });
      off = end;
    }
    return off;
  }

  /** The first `n` pending bytes as one array (a view when they sit in the first chunk). */
  #join(n: number): Uint8Array {
    const first = this.#pending[0] ?? EMPTY_PAYLOAD;
    if (first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let at = 0;
    for (const part of this.#pending) {
      if (at >= n) break;
      const take = Math.min(part.length, n - at);
      out.set(part.subarray(0, take), at);
      at += take;
    }
    return out;
  }
}

function readU32(buf: Uint8Array, off: number): number {
  return (
    ((buf[off] ?? 0) * 0x1000000 +
      (((buf[off + 1] ?? 0) << 16) | ((buf[off + 2] ?? 0) << 8) | (buf[off + 3] ?? 0))) >>>
    0
  );
}
