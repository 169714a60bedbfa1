import { isPlainObject } from '#src/lib/index.js';
import { KbsProtocolError, malformed } from './errors.js';

/** The RCAR protocol version this implementation speaks (Trustee checks it for equality). */
export const KBS_PROTOCOL_VERSION = '0.4.0';
/** Path prefix of every KBS endpoint. */
export const KBS_PREFIX = '/kbs/v0';
/** Name of the session cookie set by `POST /kbs/v0/auth`. */
export const KBS_SESSION_COOKIE = 'kbs-session-id';
/** Prefix of the `type` member of Trustee's ErrorInformation body. */
export const KBS_ERROR_TYPE_PREFIX = 'https://github.com/confidential-containers/kbs/errors/';

/** The TEE names of the kbs-types crate (lower-case serde names). */
export const KBS_TEE_NAMES = [
  'azsnpvtpm',
  'aztdxvtpm',
  'nvidia',
  'sev',
  'sgx',
  'snp',
  'tdx',
  'cca',
  'csv',
  'se',
  'sample',
  'sampledevice',
] as const;
export type KbsTeeName = (typeof KBS_TEE_NAMES)[number];

/** `POST /kbs/v0/auth` body. */
export interface KbsRequest {
  readonly version: string;
  readonly tee: KbsTeeName;
  readonly extraParams: unknown;
}

/** `POST /kbs/v0/auth` response body. */
export interface KbsChallenge {
  readonly nonce: string;
  readonly extraParams: unknown;
}

export interface EcTeePubKey {
  readonly kty: 'EC';
  readonly crv: string;
  readonly alg: string;
  readonly x: string;
  readonly y: string;
}
export interface RsaTeePubKey {
  readonly kty: 'RSA';
  readonly alg: string;
  readonly n: string;
  readonly e: string;
}
/** The TEE's ephemeral public key (a JWK subset, kbs-types `TeePubKey`). */
export type TeePubKey = EcTeePubKey | RsaTeePubKey;

/** `runtime-data`: what report_data binds (its canonical JSON is hashed). */
export interface RuntimeData {
  readonly nonce: string;
  readonly teePubkey: TeePubKey;
}

export interface KbsInitData {
  readonly format: string;
  readonly body: string;
}

/** `POST /kbs/v0/attest` body. */
export interface KbsAttestation {
  readonly initData?: KbsInitData | undefined;
  readonly runtimeData: RuntimeData;
  /** The primary evidence (unwrapped from `{primary_evidence, additional_evidence}` if composite). */
  readonly teeEvidence: unknown;
  /** `additional_evidence` of composite evidence, as sent (a JSON string), if any. */
  readonly additionalEvidence?: string | undefined;
}

/** Flattened JWE JSON serialization (RFC 7516 §7.2.2) as the KBS returns resources. */
export interface FlattenedJwe {
  readonly protected: string;
  readonly encrypted_key: string;
  readonly iv: string;
  readonly ciphertext: string;
  readonly tag: string;
  readonly aad?: string;
}

/** Trustee's ErrorInformation. */
export interface KbsErrorInfo {
  readonly type: string;
  readonly detail: string;
}

const B64URL_RE = /^[A-Za-z0-9_-]*$/;

function obj(
  raw: unknown,
  at: string,
  allowed: readonly string[],
): Readonly<Record<string, unknown>> {
  if (!isPlainObject(raw)) throw malformed(`${at}: expected a JSON object`);
  for (const k of Object.keys(raw))
    if (!allowed.includes(k))
      throw malformed(`${at}.${k}: unknown member (allowed: ${allowed.join(', ')})`);
  return raw;
}

function str(o: Readonly<Record<string, unknown>>, key: string, at: string, max = 4096): string {
  const v = o[key];
  if (v === undefined) throw malformed(`${at}.${key}: missing`);
  if (typeof v !== 'string') throw malformed(`${at}.${key}: expected a string`);
  if (v.length > max) throw malformed(`${at}.${key}: longer than ${String(max)} characters`);
  return v;
}

function b64url(o: Readonly<Record<string, unknown>>, key: string, at: string): string {
  const v = str(o, key, at, 8192);
  if (v.length === 0 || !B64URL_RE.test(v))
    throw malformed(`${at}.${key}: expected base64url without padding`);
  return v;
}

/** Parses a `POST /kbs/v0/auth` body; the version must be exactly KBS_PROTOCOL_VERSION. */
export function parseKbsRequest(raw: unknown): KbsRequest {
  const o = obj(raw, 'request', ['version', 'tee', 'extra-params']);
  const version = str(o, 'version', 'request', 64);
  const tee = str(o, 'tee', 'request', 64);
  if (!(KBS_TEE_NAMES as readonly string[]).includes(tee))
    throw malformed(
      `request.tee: unknown TEE ${JSON.stringify(tee)} (known: ${KBS_TEE_NAMES.join(', ')})`,
    );
  if (!('extra-params' in o)) throw malformed('request.extra-params: missing');
  if (version !== KBS_PROTOCOL_VERSION)
    throw new KbsProtocolError(
      'invalid_argument',
      'ERR_KBS_PROTOCOL_VERSION',
      `request.version: protocol version ${JSON.stringify(version)} is not supported, this KBS speaks ${KBS_PROTOCOL_VERSION}`,
    );
  return { version, tee: tee as KbsTeeName, extraParams: o['extra-params'] };
}

export function parseKbsChallenge(raw: unknown): KbsChallenge {
  const o = obj(raw, 'challenge', ['nonce', 'extra-params']);
  return { nonce: str(o, 'nonce', 'challenge', 1024), extraParams: o['extra-params'] ?? '' };
}

export function parseTeePubKey(raw: unknown, at = 'tee-pubkey'): TeePubKey {
  if (!isPlainObject(raw)) throw malformed(`${at}: expected a JWK object`);
  const kty = raw['kty'];
  if (kty === 'EC') {
    const o = obj(raw, at, ['kty', 'crv', 'alg', 'x', 'y']);
    return {
      kty,
      crv: str(o, 'crv', at, 16),
      alg: str(o, 'alg', at, 32),
      x: b64url(o, 'x', at),
      y: b64url(o, 'y', at),
    };
  }
  if (kty === 'RSA') {
    const o = obj(raw, at, ['kty', 'alg', 'n', 'e']);
    return { kty, alg: str(o, 'alg', at, 32), n: b64url(o, 'n', at), e: b64url(o, 'e', at) };
  }
  throw malformed(`${at}.kty: expected "EC" or "RSA", got ${JSON.stringify(kty)}`);
}

export function parseRuntimeData(raw: unknown, at = 'attestation.runtime-data'): RuntimeData {
  const o = obj(raw, at, ['nonce', 'tee-pubkey']);
  return {
    nonce: str(o, 'nonce', at, 1024),
    teePubkey: parseTeePubKey(o['tee-pubkey'], `${at}.tee-pubkey`),
  };
}

/** The wire form of runtime-data (what is canonicalised and hashed into report_data). */
export function runtimeDataToJson(rd: RuntimeData): Record<string, unknown> {
  return { nonce: rd.nonce, 'tee-pubkey': { ...rd.teePubkey } };
}

function parseInitDataMember(raw: unknown): KbsInitData {
  const o = obj(raw, 'attestation.init-data', ['format', 'body']);
  const format = str(o, 'format', 'attestation.init-data', 16);
  if (format !== 'toml' && format !== 'json')
    throw malformed(
      `attestation.init-data.format: expected "toml" or "json", got ${JSON.stringify(format)}`,
    );
  return { format, body: str(o, 'body', 'attestation.init-data', 1 << 20) };
}

/** Parses a `POST /kbs/v0/attest` body (init-data optional; composite tee-evidence unwrapped). */
export function parseAttestation(raw: unknown): KbsAttestation {
  const o = obj(raw, 'attestation', ['init-data', 'runtime-data', 'tee-evidence']);
  if (o['runtime-data'] === undefined) throw malformed('attestation.runtime-data: missing');
  if (o['tee-evidence'] === undefined) throw malformed('attestation.tee-evidence: missing');
  const runtimeData = parseRuntimeData(o['runtime-data']);
  const initRaw = o['init-data'];
  const initData =
    initRaw === undefined || initRaw === null ? undefined : parseInitDataMember(initRaw);
  let teeEvidence: unknown = o['tee-evidence'];
  let additionalEvidence: string | undefined;
  if (isPlainObject(teeEvidence) && 'primary_evidence' in teeEvidence) {
    const c = obj(teeEvidence, 'attestation.tee-evidence', [
      'primary_evidence',
      'additional_evidence',
    ]);
    const add = c['additional_evidence'];
    if (add !== undefined && typeof add !== 'string')
      throw malformed('attestation.tee-evidence.additional_evidence: expected a JSON string');
    additionalEvidence = add;
    teeEvidence = c['primary_evidence'];
  }
  // Some attesters send the evidence as a JSON string; accept both forms.
  if (typeof teeEvidence === 'string') {
    try {
      teeEvidence = JSON.parse(teeEvidence) as unknown;
    } catch {
      throw malformed('attestation.tee-evidence: a string that is not JSON');
    }
  }
  return { initData, runtimeData, teeEvidence, additionalEvidence };
}

export function parseFlattenedJwe(raw: unknown): FlattenedJwe {
  const o = obj(raw, 'jwe', ['protected', 'encrypted_key', 'iv', 'ciphertext', 'tag', 'aad']);
  const aad = o['aad'];
  if (aad !== undefined && typeof aad !== 'string') throw malformed('jwe.aad: expected a string');
  const ct = o['ciphertext'];
  if (typeof ct !== 'string' || !B64URL_RE.test(ct))
    throw malformed('jwe.ciphertext: expected base64url');
  return {
    protected: b64url(o, 'protected', 'jwe'),
    encrypted_key: b64url(o, 'encrypted_key', 'jwe'),
    iv: b64url(o, 'iv', 'jwe'),
    ciphertext: ct,
    tag: b64url(o, 'tag', 'jwe'),
    ...(aad === undefined ? {} : { aad }),
  };
}

export function parseKbsErrorInfo(raw: unknown): KbsErrorInfo {
  const o = obj(raw, 'error', ['type', 'detail']);
  return { type: str(o, 'type', 'error'), detail: str(o, 'detail', 'error', 65536) };
}

/** `PolicyDeny` from `https://github.com/confidential-containers/kbs/errors/PolicyDeny`. */
export function errorVariant(info: KbsErrorInfo): string {
  return info.type.startsWith(KBS_ERROR_TYPE_PREFIX)
    ? info.type.slice(KBS_ERROR_TYPE_PREFIX.length)
    : info.type;
}

/** A resource path `<repo>/<type>/<tag>`: three non-empty segments of [A-Za-z0-9._-]. */
export const RESOURCE_SEGMENT_RE = /^[A-Za-z0-9._-]{1,128}$/;

export function parseResourcePath(path: string): { repository: string; type: string; tag: string } {
  const parts = path.split('/');
  if (
    parts.length !== 3 ||
    !parts.every((p) => RESOURCE_SEGMENT_RE.test(p) && p !== '.' && p !== '..')
  )
    throw malformed(
      `resource path ${JSON.stringify(path)}: expected <repository>/<type>/<tag> of [A-Za-z0-9._-]`,
    );
  const [repository = '', type = '', tag = ''] = parts;
  return { repository, type, tag };
}
