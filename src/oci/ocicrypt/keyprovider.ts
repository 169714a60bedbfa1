import { isPlainObject } from '#src/lib/index.js';
import { OciError } from '../errors.js';
import { bytesField } from './cipher-options.js';

/** What a key provider is asked to unwrap for one layer. */
export interface KeyUnwrapRequest {
  /** The `<name>` of `org.opencontainers.image.enc.keys.provider.<name>`. */
  readonly provider: string;
  /** One wrapped key blob (base64-decoded annotation entry), as the provider wrapped it. */
  readonly annotation: Uint8Array;
  /** The encrypted layer's digest, for logs and errors. */
  readonly layerDigest: string;
}

/**
 * Unwraps keyprovider-wrapped layer keys. In the guest the confidential data hub implements it,
 * getting the key-encryption key from the KBS after attestation. Returns ocicrypt's private
 * options JSON (`optsdata`).
 */
export interface KeyUnwrapper {
  unwrapKey(request: KeyUnwrapRequest, signal?: AbortSignal): Promise<Uint8Array>;
}

/**
 * ocicrypt's `Parameters map[string][][]byte` of an EncryptConfig / DecryptConfig: for a key
 * provider, its name → the `<params>` of each `provider:<name>:<params>` key given (`Enabled` for
 * `provider:<name>` without params).
 */
export type KeyProviderParameters = Readonly<Record<string, readonly Uint8Array[]>>;

/** One keyprovider protocol request (ocicrypt ≥ 1.1 `KeyProviderKeyWrapProtocolInput`). */
export type KeyProviderRequest =
  | {
      readonly op: 'keywrap';
      readonly optsData: Uint8Array;
      readonly parameters: KeyProviderParameters;
    }
  | {
      readonly op: 'keyunwrap';
      readonly annotation: Uint8Array;
      readonly parameters: KeyProviderParameters;
    };

/** Largest request or response accepted (real ones are well under 4 KiB). */
export const KEYPROVIDER_MAX_MESSAGE = 1 << 20;

function protocolError(why: string): OciError {
  return new OciError('invalid_argument', 'ERR_OCI_KEYPROVIDER', `keyprovider protocol: ${why}`);
}

function parseJson(json: string, what: string): unknown {
  if (json.length > KEYPROVIDER_MAX_MESSAGE)
    throw protocolError(`${what} is larger than ${String(KEYPROVIDER_MAX_MESSAGE)} bytes`);
  try {
    return JSON.parse(json);
  } catch {
    throw protocolError(`${what} is not JSON`);
  }
}

function guarded<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof OciError) throw err;
    throw protocolError(err instanceof Error ? err.message : String(err));
  }
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** `{"Parameters": {name: [bytes…]}}` (Go marshals a nil map or config as null). */
function parseParameters(config: unknown, at: string): KeyProviderParameters {
  if (config === undefined || config === null) return {};
  if (!isPlainObject(config)) throw new Error(`${at} must be an object`);
  const raw = config['Parameters'];
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) throw new Error(`${at}.Parameters must be an object`);
  const out: Record<string, Uint8Array[]> = {};
  for (const [name, list] of Object.entries(raw)) {
    if (list === null) continue;
    if (!Array.isArray(list)) throw new Error(`${at}.Parameters.${name} must be an array`);
    out[name] = list.map((v, i) => {
      const b = bytesField(v, `${at}.Parameters.${name}[${String(i)}]`);
      if (!b) throw new Error(`${at}.Parameters.${name}[${String(i)}] is null`);
      return b;
    });
  }
  return out;
}

function encodeParameters(p: KeyProviderParameters): Record<string, string[]> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.map(b64)]));
}

/** Parses a keywrap or keyunwrap request; byte fields may be base64 strings or integer arrays. */
export function parseKeyProviderRequest(json: string): KeyProviderRequest {
  const o = parseJson(json, 'request');
  if (!isPlainObject(o)) throw protocolError('request must be a JSON object');
  const op = o['op'];
  if (op === 'keywrap') {
    const params = o['keywrapparams'];
    if (!isPlainObject(params)) throw protocolError('keywrapparams is missing');
    return guarded(() => {
      const optsData = bytesField(params['optsdata'], 'keywrapparams.optsdata');
      if (!optsData || optsData.length === 0)
        throw new Error('keywrapparams.optsdata is missing or empty');
      return { op, optsData, parameters: parseParameters(params['ec'], 'keywrapparams.ec') };
    });
  }
  if (op === 'keyunwrap') {
    const params = o['keyunwrapparams'];
    if (!isPlainObject(params)) throw protocolError('keyunwrapparams is missing');
    return guarded(() => {
      const annotation = bytesField(params['annotation'], 'keyunwrapparams.annotation');
      if (!annotation || annotation.length === 0)
        throw new Error('keyunwrapparams.annotation is missing or empty');
      return { op, annotation, parameters: parseParameters(params['dc'], 'keyunwrapparams.dc') };
    });
  }
  throw protocolError(
    `request op must be "keywrap" or "keyunwrap", got ${JSON.stringify(op ?? null)}`,
  );
}

/** The keyunwrap request JSON, shaped as ocicrypt's encoding/json writes it. */
export function encodeKeyUnwrapRequest(
  annotation: Uint8Array,
  parameters: KeyProviderParameters = {},
): string {
  return JSON.stringify({
    op: 'keyunwrap',
    keywrapparams: { ec: null, optsdata: null },
    keyunwrapparams: {
      dc: { Parameters: encodeParameters(parameters) },
      annotation: b64(annotation),
    },
  });
}

/** The keywrap request JSON, shaped as ocicrypt's encoding/json writes it. */
export function encodeKeyWrapRequest(
  optsData: Uint8Array,
  parameters: KeyProviderParameters,
): string {
  return JSON.stringify({
    op: 'keywrap',
    keywrapparams: {
      ec: { Parameters: encodeParameters(parameters), DecryptConfig: { Parameters: null } },
      optsdata: b64(optsData),
    },
    keyunwrapparams: { dc: null, annotation: null },
  });
}

/** Parses a keyunwrap request (see `parseKeyProviderRequest`). */
export function parseKeyUnwrapRequest(json: string): {
  readonly annotation: Uint8Array;
  readonly parameters: KeyProviderParameters;
} {
  const r = parseKeyProviderRequest(json);
  if (r.op !== 'keyunwrap') throw protocolError('request op must be "keyunwrap"');
  return r;
}

export function encodeKeyUnwrapResponse(optsdata: Uint8Array): string {
  return JSON.stringify({ keyunwrapresults: { optsdata: b64(optsdata) } });
}

export function encodeKeyWrapResponse(annotation: Uint8Array): string {
  return JSON.stringify({ keywrapresults: { annotation: b64(annotation) } });
}

function parseResult(json: string, results: string, field: string): Uint8Array {
  const o = parseJson(json, 'response');
  const r = isPlainObject(o) ? o[results] : undefined;
  if (!isPlainObject(r)) throw protocolError(`${results} is missing`);
  return guarded(() => {
    const data = bytesField(r[field], `${results}.${field}`);
    if (!data || data.length === 0) throw new Error(`${results}.${field} is empty`);
    return data;
  });
}

/** Parses `{"keyunwrapresults":{"optsdata":…}}`, optsdata as base64 or an integer array. */
export function parseKeyUnwrapResponse(json: string): Uint8Array {
  return parseResult(json, 'keyunwrapresults', 'optsdata');
}

/** Parses `{"keywrapresults":{"annotation":…}}`, annotation as base64 or an integer array. */
export function parseKeyWrapResponse(json: string): Uint8Array {
  return parseResult(json, 'keywrapresults', 'annotation');
}
