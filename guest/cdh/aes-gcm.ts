import { isCcError } from '#src/lib/index.js';
import { openAes256Gcm, sealAes256Gcm } from '#src/oci/index.js';
import { CdhError } from './errors.js';

/**
 * AES-256-GCM open of `ciphertext || tag` (what guest-components' A256GCM wrap type produces);
 * the shared `src/oci` primitive with the CDH's error code (`ERR_CDH_DECRYPT`, same kind).
 */
export function openA256Gcm(
  key: Uint8Array,
  iv: Uint8Array,
  sealed: Uint8Array,
  what: string,
): Uint8Array {
  try {
    return openAes256Gcm(key, iv, sealed, what);
  } catch (err) {
    throw new CdhError(
      isCcError(err) ? err.kind : 'internal',
      'ERR_CDH_DECRYPT',
      err instanceof Error ? err.message : String(err),
      { cause: err },
    );
  }
}

/** AES-256-GCM seal, `ciphertext || tag` with a random 12-byte iv (used by tests and tooling). */
export function sealA256Gcm(
  key: Uint8Array,
  plaintext: Uint8Array,
): { iv: Uint8Array; sealed: Uint8Array } {
  return sealAes256Gcm(key, plaintext);
}
