import { isCcError } from '#src/lib/index.js';
import {
  encodeAnnotationPacket,
  encodeKeyUnwrapResponse,
  encodeKeyWrapResponse,
  parseAnnotationPacket,
  parseKeyProviderRequest,
  unwrapWithKek,
  wrapWithKek,
  type KeyProviderParameters,
} from '#src/oci/index.js';
import { ImageCryptError } from './errors.js';
import { parseKekParams, readKekFile } from './kek-params.js';

/** The ocicrypt key provider name kata-cc answers to by default (`provider:kata-cc:…`). */
export const DEFAULT_PROVIDER_NAME = 'kata-cc';

export interface KbsKeyProviderOptions {
  /** The name in the ocicrypt keyprovider config, i.e. the `<name>` of `provider:<name>:…`. */
  readonly name: string;
}

function paramsFor(parameters: KeyProviderParameters, name: string, flag: string): string[] {
  const list = parameters[name];
  if (list === undefined || list.length === 0) {
    const others = Object.keys(parameters);
    throw new ImageCryptError(
      'invalid_argument',
      'ERR_KEYPROVIDER_PARAMS',
      `the request carries no parameters for key provider ${JSON.stringify(name)} (give ${flag} provider:${name}:keypath=FILE::keyid=kbs:///…${others.length > 0 ? `; it has parameters for ${others.map((o) => JSON.stringify(o)).join(', ')} — is this provider configured under another name? pass --name` : ''})`,
    );
  }
  return list.map((b) => Buffer.from(b).toString('utf8'));
}

async function keyWrap(optsData: Uint8Array, params: string[]): Promise<string> {
  if (params.length !== 1)
    throw new ImageCryptError(
      'invalid_argument',
      'ERR_KEYPROVIDER_PARAMS',
      `${String(params.length)} provider keys were given for one key provider; a layer key is wrapped with exactly one key-encryption key`,
    );
  const p = parseKekParams(params[0] ?? '', true);
  const kek = await readKekFile(p.keyPath);
  const packet = wrapWithKek(kek.reveal(), p.keyId ?? '', optsData);
  return encodeKeyWrapResponse(encodeAnnotationPacket(packet));
}

async function keyUnwrap(annotation: Uint8Array, params: string[]): Promise<string> {
  const packet = parseAnnotationPacket(annotation);
  const candidates = params.map((raw) => parseKekParams(raw, false));
  const usable = candidates.filter((p) => p.keyId === undefined || p.keyId === packet.kid);
  if (usable.length === 0)
    throw new ImageCryptError(
      'not_found',
      'ERR_KEYPROVIDER_UNWRAP',
      `the layer key is wrapped with ${packet.kid}, and none of the ${String(candidates.length)} given key(s) has that keyid`,
    );
  const failures: string[] = [];
  for (const p of usable) {
    const kek = await readKekFile(p.keyPath);
    try {
      return encodeKeyUnwrapResponse(unwrapWithKek(kek.reveal(), packet));
    } catch (err) {
      if (!isCcError(err) || err.kind !== 'permission_denied') throw err;
      failures.push(p.keyPath);
    }
  }
  throw new ImageCryptError(
    'permission_denied',
    'ERR_KEYPROVIDER_UNWRAP',
    `cannot unwrap the layer key of ${packet.kid}: the key-encryption key in ${failures.join(', ')} does not open it (wrong key, or the annotation was altered)`,
  );
}

/**
 * Answers one ocicrypt keyprovider request (the JSON ocicrypt writes to a `cmd` provider's stdin)
 * with the response JSON to print. `keywrap` seals the layer's private options with the KEK from
 * `keypath` into the KBS annotation packet naming `keyid` — what the guest CDH unwraps with the
 * same key fetched from the KBS after attestation; `keyunwrap` opens such a packet with a local KEK.
 */
export async function answerKeyProviderRequest(
  json: string,
  options: KbsKeyProviderOptions,
): Promise<string> {
  const req = parseKeyProviderRequest(json);
  if (req.op === 'keywrap')
    return keyWrap(req.optsData, paramsFor(req.parameters, options.name, '--encryption-key'));
  return keyUnwrap(req.annotation, paramsFor(req.parameters, options.name, '--decryption-key'));
}
