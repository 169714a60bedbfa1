import { Transform, PassThrough, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { OciError } from './errors.js';
import type { LayerCompression } from './media-types.js';

/** zstd decompression in pure JS (Node 20's zlib has none). */
export class ZstdDecompressor extends Transform {
  readonly #d: Decompress;

  constructor() {
    super();
    this.#d = new Decompress((chunk) => {
      this.push(Buffer.from(chunk));
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.#d.push(chunk);
    } catch (err) {
      done(corrupt('zstd', err));
      return;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    try {
      this.#d.push(new Uint8Array(0), true);
    } catch (err) {
      done(corrupt('zstd', err));
      return;
    }
    done();
  }
}

function corrupt(format: string, err: unknown): OciError {
  const text = err instanceof Error ? err.message : String(err);
  return new OciError(
    'invalid_argument',
    'ERR_OCI_UNPACK',
    `corrupt ${format} layer data: ${text}`,
    { cause: err },
  );
}

/** A decompressing transform for the layer's compression. */
export function createDecompressor(compression: LayerCompression): Transform {
  switch (compression) {
    case 'gzip':
      return createGunzip({ chunkSize: 256 << 10 });
    case 'zstd':
      return new ZstdDecompressor();
    case 'none':
      return new PassThrough();
  }
}
