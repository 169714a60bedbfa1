import { isPlainObject } from '#src/lib/index.js';
import { OciError } from '../errors.js';

/** The only layer cipher ocicrypt defines. */
export const AES_256_CTR_HMAC_SHA256 = 'AES_256_CTR_HMAC_SHA256';

export const ANNOTATION_JWE = 'org.opencontainers.image.enc.keys.jwe';
export const ANNOTATION_PUBOPTS = 'org.opencontainers.image.enc.pubopts';
export const ANNOTATION_PROVIDER_PREFIX = 'org.opencontainers.image.enc.keys.provider.';

/** Private (wrapped) options: the symmetric key, the cipher options and the plaintext digest. */
export interface PrivateCipherOptions {
  readonly symkey: Uint8Array;
  readonly cipherOptions: Readonly<Record<string, Uint8Array>>;
  /** Digest of the unencrypted blob, when the encrypter recorded one. */
  readonly digest: string | undefined;
}

/** Public options (`org.opencontainers.image.enc.pubopts`): the cipher and its HMAC. */
export interface PublicCipherOptions {
  readonly cipher: string;
  readonly hmac: Uint8Array | undefined;
  readonly cipherOptions: Readonly<Record<string, Uint8Array>>;
}

/** Everything the layer cipher needs. */
export interface LayerCipherParams {
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
  readonly hmac: Uint8Array;
  readonly plainDigest: string | undefined;
}

function fail(layer: string, why: string): OciError {
  return new OciError(
    'permission_denied',
    'ERR_OCI_DECRYPT',
    `Failed to decrypt the image layer ${layer}: ${why}`,
  );
}

/** Bytes from the wire: a base64 string (Go) or an integer array (Rust serde); null for absent. */
export function bytesField(raw: unknown, at: string): Uint8Array | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') {
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(raw)) throw new Error(`${at}: not base64`);
    return Buffer.from(raw, raw.includes('-') || raw.includes('_') ? 'base64url' : 'base64');
  }
  if (
    Array.isArray(raw) &&
    raw.every((b) => Number.isInteger(b) && (b as number) >= 0 && (b as number) <= 255)
  ) {
    return Uint8Array.from(raw as number[]);
  }
  throw new Error(`${at}: expected base64 or an array of bytes`);
}

function byteMap(raw: unknown, at: string): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  if (raw === undefined || raw === null) return out;
  if (!isPlainObject(raw)) throw new Error(`${at}: expected an object`);
  for (const [k, v] of Object.entries(raw)) {
    const b = bytesField(v, `${at}.${k}`);
    if (b) out[k] = b;
  }
  return out;
}

function parseJsonObject(bytes: Uint8Array, at: string): Record<string, unknown> {
  const v: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
  if (!isPlainObject(v)) throw new Error(`${at}: expected a JSON object`);
  return v;
}

export function parsePrivateOptions(bytes: Uint8Array, layer: string): PrivateCipherOptions {
  try {
    const o = parseJsonObject(bytes, 'private options');
    const symkey = bytesField(o['symkey'], 'symkey');
    if (!symkey) throw new Error('symkey is missing');
    const digest = o['digest'];
    return {
      symkey,
      cipherOptions: byteMap(o['cipheroptions'], 'cipheroptions'),
      digest: typeof digest === 'string' && digest !== '' ? digest : undefined,
    };
  } catch (err) {
    throw fail(
      layer,
      `unwrapped options are malformed (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

/** Public options from the annotation (base64 JSON); absent means none (the cipher then must be given). */
export function parsePublicOptions(
  annotation: string | undefined,
  layer: string,
): PublicCipherOptions {
  if (annotation === undefined || annotation === '') {
    return { cipher: '', hmac: undefined, cipherOptions: {} };
  }
  try {
    const o = parseJsonObject(Buffer.from(annotation, 'base64'), 'pubopts');
    return {
      cipher: typeof o['cipher'] === 'string' ? o['cipher'] : '',
      hmac: bytesField(o['hmac'], 'hmac'),
      cipherOptions: byteMap(o['cipheroptions'], 'cipheroptions'),
    };
  } catch (err) {
    throw fail(
      layer,
      `public options are malformed (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

/** Combines the options as ocicrypt's GetOpt does: public cipher options first, then private. */
export function layerCipherParams(
  priv: PrivateCipherOptions,
  pub: PublicCipherOptions,
  layer: string,
): LayerCipherParams {
  if (pub.cipher !== AES_256_CTR_HMAC_SHA256) {
    throw fail(
      layer,
      `unsupported layer cipher ${JSON.stringify(pub.cipher)} (only ${AES_256_CTR_HMAC_SHA256})`,
    );
  }
  const get = (k: string): Uint8Array | undefined => pub.cipherOptions[k] ?? priv.cipherOptions[k];
  const nonce = get('nonce');
  const hmac = get('hmac') ?? pub.hmac;
  if (priv.symkey.length !== 32)
    throw fail(layer, `symmetric key is ${String(priv.symkey.length)} bytes, not 32`);
  if (nonce?.length !== 16) throw fail(layer, 'the AES-CTR nonce is missing or not 16 bytes');
  if (hmac?.length !== 32) throw fail(layer, 'the layer HMAC is missing or not 32 bytes');
  return { key: priv.symkey, nonce, hmac, plainDigest: priv.digest };
}
