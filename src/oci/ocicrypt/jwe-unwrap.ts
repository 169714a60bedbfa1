import { createPrivateKey, type KeyObject } from 'node:crypto';
import { flattenedDecrypt, generalDecrypt, type FlattenedJWE, type GeneralJWE } from 'jose';
import { isPlainObject, type Secret } from '#src/lib/index.js';
import { OciError } from '../errors.js';

/** A private key that may unwrap JWE-wrapped layer keys (RSA or EC). */
export type DecryptionKey = Secret<KeyObject>;

/** Loads a PEM (PKCS#8, PKCS#1, SEC1) or DER private key, as given to `--decryption-key`. */
export function parseDecryptionKey(bytes: Uint8Array, what = 'decryption key'): KeyObject {
  const text = Buffer.from(bytes).toString('utf8');
  try {
    if (text.includes('-----BEGIN')) return createPrivateKey({ key: text, format: 'pem' });
    return createPrivateKey({ key: Buffer.from(bytes), format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new OciError(
      'invalid_argument',
      'ERR_OCI_NO_KEY',
      `${what} is not a usable private key (PEM or PKCS#8 DER)`,
      { cause: err },
    );
  }
}

const ALGORITHMS = [
  'RSA-OAEP',
  'RSA-OAEP-256',
  'ECDH-ES+A256KW',
  'ECDH-ES+A128KW',
  'ECDH-ES+A192KW',
  'ECDH-ES',
];

async function decryptOne(jwe: unknown, key: KeyObject): Promise<Uint8Array> {
  const options = { keyManagementAlgorithms: ALGORITHMS };
  if (isPlainObject(jwe) && Array.isArray(jwe['recipients'])) {
    return (await generalDecrypt(jwe as unknown as GeneralJWE, key, options)).plaintext;
  }
  return (await flattenedDecrypt(jwe as FlattenedJWE, key, options)).plaintext;
}

/**
 * Tries every key on every JWE of the `org.opencontainers.image.enc.keys.jwe` annotation
 * (comma-separated base64 of JWE JSON) and returns the first plaintext (the private options JSON),
 * or undefined when no key fits.
 */
export async function unwrapJweAnnotation(
  annotation: string,
  keys: readonly DecryptionKey[],
): Promise<Uint8Array | undefined> {
  for (const part of annotation.split(',')) {
    let jwe: unknown;
    try {
      jwe = JSON.parse(Buffer.from(part.trim(), 'base64').toString('utf8'));
    } catch {
      continue;
    }
    for (const key of keys) {
      try {
        return await decryptOne(jwe, key.reveal());
      } catch {
        // not this key; try the next one
      }
    }
  }
  return undefined;
}
