import { compactVerify, importJWK, type JWK } from 'jose';
import { isPlainObject } from '#src/lib/index.js';
import { openA256Gcm } from './aes-gcm.js';
import { CdhError } from './errors.js';

export const SEALED_PREFIX = 'sealed.';
export const SEALED_SECRET_VERSION = '0.1.0';

export type SealedSecret =
  | { readonly type: 'vault'; readonly provider: string; readonly name: string }
  | {
      readonly type: 'envelope';
      readonly provider: string;
      readonly keyId: string;
      readonly encryptedKey: Uint8Array;
      readonly encryptedData: Uint8Array;
      readonly wrapType: string;
      readonly iv: Uint8Array;
      readonly annotations: Readonly<Record<string, unknown>>;
    };

export interface ParsedSealedSecret {
  readonly secret: SealedSecret;
  /** The JWS protected header when it is JSON (absent for upstream's placeholder headers). */
  readonly header: Readonly<Record<string, unknown>> | undefined;
  /** `header.payload.signature` without the `sealed.` prefix. */
  readonly jws: string;
}

/** Fetches a `kbs:///…` resource (the CDH's KBS client). */
export type ResourceGetter = (
  uri: string,
  opts: { signal?: AbortSignal | undefined },
) => Promise<Uint8Array>;

const bad = (m: string, cause?: unknown): CdhError =>
  new CdhError(
    'invalid_argument',
    'ERR_CDH_SEALED_SECRET',
    `sealed secret: ${m}`,
    cause === undefined ? undefined : { cause },
  );

function str(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length === 0) throw bad(`"${k}" must be a non-empty string`);
  return v;
}

function b64(o: Record<string, unknown>, k: string): Uint8Array {
  const v = str(o, k);
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) throw bad(`"${k}" must be base64`);
  return new Uint8Array(Buffer.from(v, /[-_]/.test(v) ? 'base64url' : 'base64'));
}

function decodeJsonPart(part: string, what: string): unknown {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw bad(`the ${what} is not base64url`);
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
  } catch (err) {
    throw bad(`the ${what} is not JSON`, err);
  }
}

/** Parses `sealed.<JWS header>.<JWS payload>.<signature>` (guest-components SEALED_SECRET.md). */
export function parseSealedSecret(text: string): ParsedSealedSecret {
  if (!text.startsWith(SEALED_PREFIX)) throw bad('must start with "sealed."');
  const jws = text.slice(SEALED_PREFIX.length).trim();
  const parts = jws.split('.');
  if (parts.length !== 3) throw bad('expected sealed.<header>.<payload>.<signature>');
  const [h = '', p = ''] = parts;
  let header: Record<string, unknown> | undefined;
  try {
    const hv = decodeJsonPart(h, 'header');
    header = isPlainObject(hv) ? hv : undefined;
  } catch {
    header = undefined; // upstream allows placeholder headers ("fakejwsheader")
  }
  const o = decodeJsonPart(p, 'payload');
  if (!isPlainObject(o)) throw bad('the payload must be a JSON object');
  if (o['version'] !== SEALED_SECRET_VERSION)
    throw bad(
      `unsupported version ${JSON.stringify(o['version'])} (expected "${SEALED_SECRET_VERSION}")`,
    );
  const type = o['type'];
  if (type === 'vault')
    return { jws, header, secret: { type, provider: str(o, 'provider'), name: str(o, 'name') } };
  if (type === 'envelope') {
    const annotations = o['annotations'] ?? {};
    if (!isPlainObject(annotations)) throw bad('"annotations" must be an object');
    return {
      jws,
      header,
      secret: {
        type,
        provider: str(o, 'provider'),
        keyId: str(o, 'key_id'),
        encryptedKey: b64(o, 'encrypted_key'),
        encryptedData: b64(o, 'encrypted_data'),
        wrapType: str(o, 'wrap_type'),
        iv: b64(o, 'iv'),
        annotations,
      },
    };
  }
  throw bad(`unsupported type ${JSON.stringify(type)} (expected "vault" or "envelope")`);
}

export interface UnsealOptions {
  readonly getResource: ResourceGetter;
  /** Refuse secrets whose JWS is not signed by a key named in `kid` (default false, as upstream). */
  readonly requireSignature?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Verifies the JWS when its header names a key (`kid` = kbs:/// URI of a public JWK). */
async function checkSignature(p: ParsedSealedSecret, o: UnsealOptions): Promise<void> {
  const kid = p.header?.['kid'];
  const alg = p.header?.['alg'];
  if (typeof kid !== 'string' || typeof alg !== 'string') {
    if (o.requireSignature === true)
      throw new CdhError(
        'permission_denied',
        'ERR_CDH_SEALED_SIGNATURE',
        'sealed secret is not signed (no "kid"/"alg" in its header) and signatures are required',
      );
    return;
  }
  const raw = await o.getResource(kid, { signal: o.signal });
  try {
    const jwk = JSON.parse(Buffer.from(raw).toString('utf8')) as JWK;
    await compactVerify(p.jws, await importJWK(jwk, alg), { algorithms: [alg] });
  } catch (err) {
    throw new CdhError(
      'permission_denied',
      'ERR_CDH_SEALED_SIGNATURE',
      `sealed secret signature does not verify with ${kid}`,
      { cause: err },
    );
  }
}

/** Unseals a sealed secret with the `kbs` provider: vault = fetch `name`; envelope = unwrap with `key_id`. */
export async function unsealSecret(text: string, o: UnsealOptions): Promise<Uint8Array> {
  const p = parseSealedSecret(text);
  await checkSignature(p, o);
  const s = p.secret;
  if (s.provider !== 'kbs')
    throw new CdhError(
      'unimplemented',
      'ERR_CDH_PROVIDER',
      `sealed secret provider "${s.provider}" is not supported (only "kbs")`,
    );
  if (s.type === 'vault') return o.getResource(s.name, { signal: o.signal });
  if (s.wrapType !== 'A256GCM')
    throw new CdhError(
      'unimplemented',
      'ERR_CDH_PROVIDER',
      `sealed secret wrap_type "${s.wrapType}" is not supported (only A256GCM)`,
    );
  const ivText = s.annotations['iv'];
  if (typeof ivText !== 'string')
    throw bad('envelope with the kbs provider needs annotations.iv (the iv of encrypted_key)');
  const sealingKey = await o.getResource(s.keyId, { signal: o.signal });
  const dataKey = openA256Gcm(
    sealingKey,
    new Uint8Array(Buffer.from(ivText, 'base64')),
    s.encryptedKey,
    'sealed secret encrypted_key',
  );
  return openA256Gcm(dataKey, s.iv, s.encryptedData, 'sealed secret encrypted_data');
}
