import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { isPlainObject } from '#src/lib/index.js';
import { parseResourcePath } from '#src/protocol/kbs/index.js';
import { OciError } from '../errors.js';
import { bytesField } from './cipher-options.js';

/** The only wrap type the guest unwraps: AES-256-GCM, `wrapped_data` = ciphertext ‖ 16-byte tag. */
export const WRAP_TYPE_A256GCM = 'A256GCM';

const TAG = 16;
const IV = 12;
/** An annotation packet is a few hundred bytes; anything this large is not one. */
const MAX_PACKET_BYTES = 64 * 1024;

/**
 * The KBS keyprovider "annotation packet" (guest-components' `AnnotationPacket` v1): the JSON a
 * layer's `org.opencontainers.image.enc.keys.provider.<name>` annotation holds (base64). `kid` names
 * the KBS resource holding the key-encryption key; `wrapped_data` is the ocicrypt private options
 * sealed with it.
 */
export interface AnnotationPacket {
  readonly kid: string;
  readonly wrappedData: Uint8Array;
  readonly iv: Uint8Array;
  readonly wrapType: string;
}

function badPacket(why: string): OciError {
  return new OciError('invalid_argument', 'ERR_OCI_KEYPROVIDER', `annotation packet: ${why}`);
}

/**
 * Checks a key id as the guest will resolve it: `kbs:///<repository>/<type>/<tag>` (an authority,
 * `kbs://host:port/…`, is allowed and ignored by the guest), segments of `[A-Za-z0-9._-]`.
 */
export function checkKbsKeyId(kid: string, at = 'kid'): string {
  const m = /^kbs:\/\/[^/]*\/(.*)$/.exec(kid);
  try {
    if (!m?.[1]) throw new Error('no kbs:// prefix');
    parseResourcePath(m[1]);
  } catch (err) {
    throw new OciError(
      'invalid_argument',
      'ERR_OCI_KEYPROVIDER',
      `${at} ${JSON.stringify(kid.slice(0, 200))} is not a KBS resource uri kbs:///<repository>/<type>/<tag> (segments of [A-Za-z0-9._-])`,
      { cause: err },
    );
  }
  return kid;
}

/** The packet as JSON bytes, byte fields standard base64 (as guest-components writes them). */
export function encodeAnnotationPacket(p: AnnotationPacket): Uint8Array {
  return new Uint8Array(
    Buffer.from(
      JSON.stringify({
        kid: p.kid,
        wrapped_data: Buffer.from(p.wrappedData).toString('base64'),
        iv: Buffer.from(p.iv).toString('base64'),
        wrap_type: p.wrapType,
      }),
    ),
  );
}

/** Parses a packet (byte fields base64 or integer arrays; `wrap_type` defaults to A256GCM). */
export function parseAnnotationPacket(bytes: Uint8Array): AnnotationPacket {
  if (bytes.length > MAX_PACKET_BYTES)
    throw badPacket(`${String(bytes.length)} bytes, more than ${String(MAX_PACKET_BYTES)}`);
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw badPacket('the annotation is not an annotation packet (JSON)');
  }
  if (!isPlainObject(o)) throw badPacket('must be a JSON object');
  const kid = o['kid'];
  if (typeof kid !== 'string') throw badPacket('"kid" must be a kbs:/// resource uri');
  const wrapType = o['wrap_type'] ?? WRAP_TYPE_A256GCM;
  if (typeof wrapType !== 'string') throw badPacket('"wrap_type" must be a string');
  const field = (k: string): Uint8Array => {
    let b: Uint8Array | undefined;
    try {
      b = bytesField(o[k], k);
    } catch {
      b = undefined;
    }
    if (!b) throw badPacket(`"${k}" must be base64 or an array of bytes`);
    return b;
  };
  return { kid, wrappedData: field('wrapped_data'), iv: field('iv'), wrapType };
}

/** AES-256-GCM seal, `ciphertext ‖ tag`, with a random 12-byte iv unless one is given. */
export function sealAes256Gcm(
  key: Uint8Array,
  plaintext: Uint8Array,
  iv: Uint8Array = new Uint8Array(randomBytes(IV)),
): { iv: Uint8Array; sealed: Uint8Array } {
  if (key.length !== 32)
    throw new OciError(
      'invalid_argument',
      'ERR_OCI_KEYPROVIDER',
      `A256GCM needs a 32-byte key, got ${String(key.length)} bytes`,
    );
  const c = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  return { iv, sealed: new Uint8Array(body) };
}

/**
 * AES-256-GCM open of `ciphertext ‖ tag`. Sizes are `invalid_argument`, a failed tag check (wrong
 * key or altered data) `permission_denied`; both `ERR_OCI_DECRYPT`, the message starting `what: `.
 */
export function openAes256Gcm(
  key: Uint8Array,
  iv: Uint8Array,
  sealed: Uint8Array,
  what: string,
): Uint8Array {
  if (key.length !== 32)
    throw new OciError(
      'invalid_argument',
      'ERR_OCI_DECRYPT',
      `${what}: the key is ${String(key.length)} bytes, A256GCM needs 32`,
    );
  if (iv.length !== IV || sealed.length < TAG)
    throw new OciError(
      'invalid_argument',
      'ERR_OCI_DECRYPT',
      `${what}: expected a 12-byte iv and ciphertext with a 16-byte tag`,
    );
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAuthTag(sealed.subarray(sealed.length - TAG));
    return new Uint8Array(
      Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG)), d.final()]),
    );
  } catch (err) {
    throw new OciError('permission_denied', 'ERR_OCI_DECRYPT', `${what}: decryption failed`, {
      cause: err,
    });
  }
}

/** Wraps ocicrypt private options (`optsdata`) with a key-encryption key into a packet. */
export function wrapWithKek(kek: Uint8Array, kid: string, optsData: Uint8Array): AnnotationPacket {
  checkKbsKeyId(kid);
  const { iv, sealed } = sealAes256Gcm(kek, optsData);
  return { kid, wrappedData: sealed, iv, wrapType: WRAP_TYPE_A256GCM };
}

/** Opens a packet with its key-encryption key; returns the private options (`optsdata`). */
export function unwrapWithKek(kek: Uint8Array, packet: AnnotationPacket): Uint8Array {
  if (packet.wrapType !== WRAP_TYPE_A256GCM)
    throw new OciError(
      'unimplemented',
      'ERR_OCI_KEYPROVIDER',
      `annotation packet: wrap_type ${JSON.stringify(packet.wrapType)} is not supported (only ${WRAP_TYPE_A256GCM})`,
    );
  return openAes256Gcm(kek, packet.iv, packet.wrappedData, `keyprovider key ${packet.kid}`);
}
