import { Transform, type TransformCallback } from 'node:stream';

/** What `pullImage` reports while it works (JSON-serializable). */
export type PullProgressEvent =
  | {
      readonly type: 'resolved';
      readonly reference: string;
      readonly manifestDigest: string;
      readonly layers: number;
      readonly totalBytes: number;
    }
  | {
      readonly type: 'layer-start';
      readonly index: number;
      readonly digest: string;
      readonly size: number;
    }
  | {
      readonly type: 'layer-progress';
      readonly index: number;
      readonly digest: string;
      readonly bytes: number;
      readonly size: number;
    }
  | {
      readonly type: 'layer-done';
      readonly index: number;
      readonly digest: string;
      readonly bytes: number;
      readonly ms: number;
    }
  | {
      readonly type: 'done';
      readonly manifestDigest: string;
      readonly bytes: number;
      readonly ms: number;
    };

/** Counts bytes flowing through and calls `report` at most every `intervalMs`. */
export class ProgressMeter extends Transform {
  readonly #report: (bytes: number) => void;
  readonly #intervalMs: number;
  #bytes = 0;
  #last = 0;

  constructor(report: (bytes: number) => void, intervalMs = 250) {
    super();
    this.#report = report;
    this.#intervalMs = intervalMs;
  }

  get bytes(): number {
    return this.#bytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#bytes += chunk.length;
    const now = Date.now();
    if (now - this.#last >= this.#intervalMs) {
      this.#last = now;
      this.#report(this.#bytes);
    }
    done(null, chunk);
  }
}
