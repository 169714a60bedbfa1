import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  timingSafeEqual,
  type Decipher,
} from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { OciError } from '../errors.js';
import type { LayerCipherParams } from './cipher-options.js';

/**
 * AES-256-CTR decryption with HMAC-SHA256 (keyed with the layer key) over the ciphertext, as
 * ocicrypt's `AES_256_CTR_HMAC_SHA256`. Plaintext flows on as it is decrypted; the HMAC is
 * checked when the input ends and a mismatch fails the stream, so consumers must stage what they
 * write until the stream has finished cleanly.
 */
export class LayerDecipher extends Transform {
  readonly #decipher: Decipher;
  readonly #hmac: ReturnType<typeof createHmac>;
  readonly #expected: Uint8Array;
  readonly #layer: string;

  constructor(params: LayerCipherParams, layer: string) {
    super();
    this.#decipher = createDecipheriv('aes-256-ctr', params.key, params.nonce);
    this.#hmac = createHmac('sha256', params.key);
    this.#expected = params.hmac;
    this.#layer = layer;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#hmac.update(chunk);
    done(null, this.#decipher.update(chunk));
  }

  override _flush(done: TransformCallback): void {
    const tail = this.#decipher.final();
    if (tail.length > 0) this.push(tail);
    const actual = this.#hmac.digest();
    if (actual.length !== this.#expected.length || !timingSafeEqual(actual, this.#expected)) {
      done(
        new OciError(
          'permission_denied',
          'ERR_OCI_DECRYPT',
          `Failed to decrypt the image layer ${this.#layer}: HMAC mismatch (the layer was modified or the key is wrong)`,
        ),
      );
      return;
    }
    done();
  }
}

/** Encrypts like ocicrypt (for tests and tools): returns the ciphertext and its HMAC. */
export function encryptLayerBytes(
  plain: Uint8Array,
  key: Uint8Array,
  nonce: Uint8Array,
): { ciphertext: Buffer; hmac: Buffer } {
  const c = createCipheriv('aes-256-ctr', key, nonce);
  const ciphertext = Buffer.concat([c.update(plain), c.final()]);
  return { ciphertext, hmac: createHmac('sha256', key).update(ciphertext).digest() };
}
