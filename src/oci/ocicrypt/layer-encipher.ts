import { createCipheriv, createHmac, randomBytes, type Cipher } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { OciError } from '../errors.js';
import { AES_256_CTR_HMAC_SHA256 } from './cipher-options.js';

/** A fresh layer key (32 bytes) and AES-CTR nonce (16 bytes), as ocicrypt makes per layer. */
export function newLayerKey(): { readonly key: Uint8Array; readonly nonce: Uint8Array } {
  return { key: new Uint8Array(randomBytes(32)), nonce: new Uint8Array(randomBytes(16)) };
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/**
 * ocicrypt's private options JSON (the `optsdata` key wrappers wrap): `symkey`, the plaintext
 * blob `digest`, and `cipheroptions.nonce`; byte fields base64 as Go writes them.
 */
export function encodePrivateOptions(o: {
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
  readonly plainDigest: string;
}): Uint8Array {
  return new Uint8Array(
    Buffer.from(
      JSON.stringify({
        symkey: b64(o.key),
        digest: o.plainDigest,
        cipheroptions: { nonce: b64(o.nonce) },
      }),
    ),
  );
}

/** The `org.opencontainers.image.enc.pubopts` annotation value: base64 of the public options. */
export function encodePublicOptions(hmac: Uint8Array): string {
  return Buffer.from(
    JSON.stringify({ cipher: AES_256_CTR_HMAC_SHA256, hmac: b64(hmac), cipheroptions: {} }),
  ).toString('base64');
}

/**
 * AES-256-CTR encryption with HMAC-SHA256 (keyed with the layer key) over the ciphertext:
 * ocicrypt's `AES_256_CTR_HMAC_SHA256`, streaming. `hmac()` is valid once the stream has ended.
 */
export class LayerEncipher extends Transform {
  readonly #cipher: Cipher;
  readonly #hmac: ReturnType<typeof createHmac>;
  #digest: Buffer | undefined;

  constructor(key: Uint8Array, nonce: Uint8Array) {
    super();
    if (key.length !== 32 || nonce.length !== 16)
      throw new OciError(
        'invalid_argument',
        'ERR_OCI_DECRYPT',
        'AES-256-CTR needs a 32-byte key and a 16-byte nonce',
      );
    this.#cipher = createCipheriv('aes-256-ctr', key, nonce);
    this.#hmac = createHmac('sha256', key);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const out = this.#cipher.update(chunk);
    this.#hmac.update(out);
    done(null, out);
  }

  override _flush(done: TransformCallback): void {
    const tail = this.#cipher.final();
    if (tail.length > 0) {
      this.#hmac.update(tail);
      this.push(tail);
    }
    this.#digest = this.#hmac.digest();
    done();
  }

  /** The HMAC of the whole ciphertext; throws before the stream has flushed. */
  hmac(): Uint8Array {
    if (!this.#digest)
      throw new OciError('internal', 'ERR_OCI_DECRYPT', 'layer HMAC asked before the stream ended');
    return new Uint8Array(this.#digest);
  }
}
