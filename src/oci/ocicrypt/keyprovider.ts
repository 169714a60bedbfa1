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

function protocolError(why: string): OciError {
  return new OciError('invalid_argument', 'ERR_OCI_KEYPROVIDER', `keyprovider protocol: ${why}`);
}

/** The keyprovider protocol request JSON (`{"op":"keyunwrap","keyunwrapparams":{…}}`). */
export function encodeKeyUnwrapRequest(annotation: Uint8Array): string {
  return JSON.stringify({
    op: 'keyunwrap',
    keyunwrapparams: {
      dc: { Parameters: {} },
      annotation: Buffer.from(annotation).toString('base64'),
    },
  });
}

/** Parses a keyunwrap request; byte fields may be base64 strings or integer arrays. */
export function parseKeyUnwrapRequest(json: string): { readonly annotation: Uint8Array } {
  let o: unknown;
  try {
    o = JSON.parse(json);
  } catch {
    throw protocolError('request is not JSON');
  }
  if (!isPlainObject(o) || o['op'] !== 'keyunwrap')
    throw protocolError('request op must be "keyunwrap"');
  const params = o['keyunwrapparams'];
  if (!isPlainObject(params)) throw protocolError('keyunwrapparams is missing');
  try {
    const annotation = bytesField(params['annotation'], 'keyunwrapparams.annotation');
    if (!annotation) throw new Error('keyunwrapparams.annotation is missing');
    return { annotation };
  } catch (err) {
    throw protocolError(err instanceof Error ? err.message : String(err));
  }
}

export function encodeKeyUnwrapResponse(optsdata: Uint8Array): string {
  return JSON.stringify({
    keyunwrapresults: { optsdata: Buffer.from(optsdata).toString('base64') },
  });
}

/** Parses `{"keyunwrapresults":{"optsdata":…}}`, optsdata as base64 or an integer array. */
export function parseKeyUnwrapResponse(json: string): Uint8Array {
  let o: unknown;
  try {
    o = JSON.parse(json);
  } catch {
    throw protocolError('response is not JSON');
  }
  const results = isPlainObject(o) ? o['keyunwrapresults'] : undefined;
  if (!isPlainObject(results)) throw protocolError('keyunwrapresults is missing');
  try {
    const data = bytesField(results['optsdata'], 'keyunwrapresults.optsdata');
    if (!data || data.length === 0) throw new Error('keyunwrapresults.optsdata is empty');
    return data;
  } catch (err) {
    throw protocolError(err instanceof Error ? err.message : String(err));
  }
}
