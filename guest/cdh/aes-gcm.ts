import { createDecipheriv, createCipheriv, randomBytes } from 'node:crypto';
import { CdhError } from './errors.js';

const TAG = 16;

/** AES-256-GCM open of `ciphertext || tag` (what guest-components' A256GCM wrap type produces). */
export function openA256Gcm(
  key: Uint8Array,
  iv: Uint8Array,
  sealed: Uint8Array,
  what: string,
): Uint8Array {
  if (key.length !== 32)
    throw new CdhError(
      'invalid_argument',
      'ERR_CDH_DECRYPT',
      `${what}: the key is ${String(key.length)} bytes, A256GCM needs 32`,
    );
  if (iv.length !== 12 || sealed.length < TAG)
    throw new CdhError(
      'invalid_argument',
      'ERR_CDH_DECRYPT',
      `${what}: expected a 12-byte iv and ciphertext with a 16-byte tag`,
    );
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAuthTag(sealed.subarray(sealed.length - TAG));
    return new Uint8Array(
      Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG)), d.final()]),
    );
  } catch (err) {
    throw new CdhError('permission_denied', 'ERR_CDH_DECRYPT', `${what}: decryption failed`, {
      cause: err,
    });
  }
}

/** AES-256-GCM seal, `ciphertext || tag` with a random 12-byte iv (used by tests and tooling). */
export function sealA256Gcm(
  key: Uint8Array,
  plaintext: Uint8Array,
): { iv: Uint8Array; sealed: Uint8Array } {
  const iv = new Uint8Array(randomBytes(12));
  const c = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  return { iv, sealed: new Uint8Array(body) };
}
