import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  constants,
  diffieHellman,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { base64urlDecode, base64urlEncode } from '#src/lib/index.js';
import { KbsProtocolError } from './errors.js';
import type { FlattenedJwe, TeePubKey } from './kbs-types.js';

export const JWE_ALG_ECDH_ES_A256KW = 'ECDH-ES+A256KW';
export const JWE_ALG_RSA_OAEP_256 = 'RSA-OAEP-256';
export const JWE_ENC_A256GCM = 'A256GCM';

const CURVES: Readonly<Record<string, { node: string; bytes: number }>> = {
  'P-256': { node: 'prime256v1', bytes: 32 },
  'P-384': { node: 'secp384r1', bytes: 48 },
  'P-521': { node: 'secp521r1', bytes: 66 },
};
const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
const MIN_RSA_BITS = 2048;

function unsupported(message: string): KbsProtocolError {
  return new KbsProtocolError('invalid_argument', 'ERR_KBS_UNSUPPORTED_KEY', message);
}

function jweError(message: string, cause?: unknown): KbsProtocolError {
  return new KbsProtocolError(
    'permission_denied',
    'ERR_KBS_JWE',
    message,
    cause === undefined ? undefined : { cause },
  );
}

/** NIST SP 800-56A Concat KDF with SHA-256, empty apu/apv, as RFC 7518 §4.6.2 (one block: 256 bits). */
function concatKdf(z: Uint8Array, alg: string): Buffer {
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const algBytes = Buffer.from(alg, 'ascii');
  return createHash('sha256')
    .update(u32(1))
    .update(z)
    .update(u32(algBytes.length))
    .update(algBytes)
    .update(u32(0))
    .update(u32(0))
    .update(u32(256))
    .digest();
}

function aesKeyWrap(kek: Buffer, cek: Buffer): Buffer {
  const c = createCipheriv('id-aes256-wrap', kek, KW_IV);
  return Buffer.concat([c.update(cek), c.final()]);
}

function aesKeyUnwrap(kek: Buffer, wrapped: Buffer): Buffer {
  const d = createDecipheriv('id-aes256-wrap', kek, KW_IV);
  return Buffer.concat([d.update(wrapped), d.final()]);
}

function ecPublicKey(key: TeePubKey & { kty: 'EC' }): {
  pub: KeyObject;
  curve: { node: string; bytes: number };
} {
  const curve = CURVES[key.crv];
  if (!curve)
    throw unsupported(`tee-pubkey.crv ${JSON.stringify(key.crv)}: expected P-256, P-384 or P-521`);
  if (
    base64urlDecode(key.x).byteLength !== curve.bytes ||
    base64urlDecode(key.y).byteLength !== curve.bytes
  )
    throw unsupported(`tee-pubkey: ${key.crv} coordinates must be ${String(curve.bytes)} bytes`);
  try {
    return {
      pub: createPublicKey({ key: { kty: 'EC', crv: key.crv, x: key.x, y: key.y }, format: 'jwk' }),
      curve,
    };
  } catch (err) {
    throw new KbsProtocolError(
      'invalid_argument',
      'ERR_KBS_UNSUPPORTED_KEY',
      'tee-pubkey: not a point on the curve',
      { cause: err },
    );
  }
}

/** The protected header in Trustee's member order: alg, enc, then epk {crv, kty, x, y}. */
function protectedHeader(alg: string, epk?: { crv: string; x: string; y: string }): string {
  const epkJson = epk
    ? `,"epk":{"crv":${JSON.stringify(epk.crv)},"kty":"EC","x":${JSON.stringify(epk.x)},"y":${JSON.stringify(epk.y)}}`
    : '';
  return `{"alg":${JSON.stringify(alg)},"enc":"${JWE_ENC_A256GCM}"${epkJson}}`;
}

function wrapCek(key: TeePubKey, cek: Buffer): { header: string; encryptedKey: Buffer } {
  if (key.kty === 'EC') {
    if (key.alg !== JWE_ALG_ECDH_ES_A256KW)
      throw unsupported(
        `tee-pubkey.alg ${JSON.stringify(key.alg)}: EC keys need ${JWE_ALG_ECDH_ES_A256KW}`,
      );
    const { pub, curve } = ecPublicKey(key);
    const eph = generateKeyPairSync('ec', { namedCurve: curve.node });
    const z = diffieHellman({ privateKey: eph.privateKey, publicKey: pub });
    const kek = concatKdf(z, JWE_ALG_ECDH_ES_A256KW);
    const jwk = eph.publicKey.export({ format: 'jwk' });
    return {
      header: protectedHeader(JWE_ALG_ECDH_ES_A256KW, {
        crv: key.crv,
        x: jwk.x ?? '',
        y: jwk.y ?? '',
      }),
      encryptedKey: aesKeyWrap(kek, cek),
    };
  }
  if (key.alg !== JWE_ALG_RSA_OAEP_256)
    throw unsupported(
      `tee-pubkey.alg ${JSON.stringify(key.alg)}: RSA keys need ${JWE_ALG_RSA_OAEP_256} (RSA1_5 is refused)`,
    );
  let pub: KeyObject;
  try {
    pub = createPublicKey({ key: { kty: 'RSA', n: key.n, e: key.e }, format: 'jwk' });
  } catch (err) {
    throw new KbsProtocolError(
      'invalid_argument',
      'ERR_KBS_UNSUPPORTED_KEY',
      'tee-pubkey: not an RSA public key',
      { cause: err },
    );
  }
  const bits = pub.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS)
    throw unsupported(
      `tee-pubkey: RSA modulus of ${String(bits)} bits, at least ${String(MIN_RSA_BITS)} required`,
    );
  const encryptedKey = publicEncrypt(
    { key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    cek,
  );
  return { header: protectedHeader(JWE_ALG_RSA_OAEP_256), encryptedKey };
}

/** Encrypts `payload` to the TEE key as a flattened JWE (A256GCM content encryption). */
export function encryptToTeeKey(key: TeePubKey, payload: Uint8Array): FlattenedJwe {
  const cek = randomBytes(32);
  const { header, encryptedKey } = wrapCek(key, cek);
  const protectedB64 = base64urlEncode(Buffer.from(header, 'utf8'));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', cek, iv);
  cipher.setAAD(Buffer.from(protectedB64, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(payload), cipher.final()]);
  cek.fill(0);
  return {
    protected: protectedB64,
    encrypted_key: base64urlEncode(encryptedKey),
    iv: base64urlEncode(iv),
    ciphertext: base64urlEncode(ciphertext),
    tag: base64urlEncode(cipher.getAuthTag()),
  };
}

/** An ephemeral TEE key pair: the private key stays in the guest, the public JWK goes in runtime-data. */
export interface TeeKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: TeePubKey;
}

export function generateTeeKeyPair(kind: 'ec' | 'rsa' = 'ec'): TeeKeyPair {
  if (kind === 'rsa') {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    return {
      privateKey,
      publicKey: { kty: 'RSA', alg: JWE_ALG_RSA_OAEP_256, n: jwk.n ?? '', e: jwk.e ?? '' },
    };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = publicKey.export({ format: 'jwk' });
  return {
    privateKey,
    publicKey: {
      kty: 'EC',
      crv: 'P-256',
      alg: JWE_ALG_ECDH_ES_A256KW,
      x: jwk.x ?? '',
      y: jwk.y ?? '',
    },
  };
}

function parseHeader(b64: string): Record<string, unknown> {
  try {
    const v = JSON.parse(Buffer.from(base64urlDecode(b64)).toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v))
      return v as Record<string, unknown>;
  } catch (err) {
    throw jweError('jwe protected header is not JSON', err);
  }
  throw jweError('jwe protected header is not a JSON object');
}

function unwrapCek(
  header: Record<string, unknown>,
  encryptedKey: Buffer,
  privateKey: KeyObject,
): Buffer {
  if (header['alg'] === JWE_ALG_RSA_OAEP_256)
    return privateDecrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      encryptedKey,
    );
  if (header['alg'] === JWE_ALG_ECDH_ES_A256KW) {
    const epk = header['epk'] as JsonWebKey | undefined;
    if (typeof epk !== 'object' || epk.kty !== 'EC')
      throw jweError('jwe header epk: expected an EC JWK');
    const z = diffieHellman({
      privateKey,
      publicKey: createPublicKey({
        key: { kty: 'EC', crv: epk.crv ?? '', x: epk.x ?? '', y: epk.y ?? '' },
        format: 'jwk',
      }),
    });
    return aesKeyUnwrap(concatKdf(z, JWE_ALG_ECDH_ES_A256KW), encryptedKey);
  }
  throw jweError(`jwe alg ${JSON.stringify(header['alg'])} is not supported`);
}

/** Opens a flattened JWE made by encryptToTeeKey (or Trustee) with the TEE private key. */
export function decryptWithTeeKey(jwe: FlattenedJwe, privateKey: KeyObject | string): Uint8Array {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const header = parseHeader(jwe.protected);
  if (header['enc'] !== JWE_ENC_A256GCM)
    throw jweError(`jwe enc ${JSON.stringify(header['enc'])} is not supported`);
  try {
    const cek = unwrapCek(header, Buffer.from(base64urlDecode(jwe.encrypted_key)), key);
    const aad = jwe.aad === undefined ? jwe.protected : `${jwe.protected}.${jwe.aad}`;
    const d = createDecipheriv('aes-256-gcm', cek, Buffer.from(base64urlDecode(jwe.iv)));
    d.setAAD(Buffer.from(aad, 'ascii'));
    d.setAuthTag(Buffer.from(base64urlDecode(jwe.tag)));
    const out = Buffer.concat([d.update(base64urlDecode(jwe.ciphertext)), d.final()]);
    cek.fill(0);
    return new Uint8Array(out);
  } catch (err) {
    if (err instanceof KbsProtocolError) throw err;
    throw jweError('jwe decryption failed', err);
  }
}
