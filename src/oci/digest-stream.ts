import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { OciError } from './errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

export interface ParsedDigest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
}

const HEX_LENGTH = { sha256: 64, sha512: 128 } as const satisfies Record<DigestAlgorithm, number>;

/** Parses `sha256:<64 hex>` / `sha512:<128 hex>`; anything else is refused. */
export function parseDigest(raw: string, at = 'digest'): ParsedDigest {
  const m = /^(sha256|sha512):([a-f0-9]+)$/.exec(raw);
  const algorithm = m?.[1] as DigestAlgorithm | undefined;
  if (m === null || algorithm === undefined || m[2]?.length !== HEX_LENGTH[algorithm]) {
    throw new OciError(
      'invalid_argument',
      'ERR_OCI_MANIFEST',
      `${at}: unsupported or malformed digest ${JSON.stringify(raw.slice(0, 200))} (expected sha256:<64 hex> or sha512:<128 hex>)`,
    );
  }
  return { algorithm, hex: m[2] };
}

/** `sha256:<hex>` of the bytes. */
export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

export function digestMismatch(what: string, expected: string, actual: string): OciError {
  return new OciError(
    'permission_denied',
    'ERR_OCI_DIGEST_MISMATCH',
    `${what}: digest mismatch (expected ${expected}, got ${actual})`,
  );
}

export interface DigestVerifierOptions {
  /** Expected `algo:hex`. */
  readonly digest: string;
  /** Expected byte count; more bytes fail at once, fewer fail at the end. */
  readonly size?: number | undefined;
  /** Names the blob in error messages. */
  readonly what: string;
}

/**
 * A pass-through that hashes what flows and fails the stream, before it ends, when the digest or
 * the size differs from the descriptor.
 */
export class DigestVerifier extends Transform {
  readonly #hash: Hash;
  readonly #expected: string;
  readonly #algorithm: DigestAlgorithm;
  readonly #size: number | undefined;
  readonly #what: string;
  #seen = 0;

  constructor(options: DigestVerifierOptions) {
    super();
    const parsed = parseDigest(options.digest, options.what);
    this.#algorithm = parsed.algorithm;
    this.#hash = createHash(parsed.algorithm);
    this.#expected = options.digest;
    this.#size = options.size;
    this.#what = options.what;
  }

  get bytesSeen(): number {
    return this.#seen;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#size !== undefined && this.#seen > this.#size) {
      done(
        new OciError(
          'permission_denied',
          'ERR_OCI_DIGEST_MISMATCH',
          `${this.#what}: more bytes than the descriptor size ${String(this.#size)}`,
        ),
      );
      return;
    }
    this.#hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.#size !== undefined && this.#seen !== this.#size) {
      done(
        new OciError(
          'permission_denied',
          'ERR_OCI_DIGEST_MISMATCH',
          `${this.#what}: size mismatch (expected ${String(this.#size)} bytes, got ${String(this.#seen)})`,
        ),
      );
      return;
    }
    const actual = `${this.#algorithm}:${this.#hash.digest('hex')}`;
    done(actual === this.#expected ? null : digestMismatch(this.#what, this.#expected, actual));
  }
}
