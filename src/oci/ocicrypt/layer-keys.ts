import { OciError } from '../errors.js';
import type { Descriptor } from '../manifest.js';
import {
  ANNOTATION_JWE,
  ANNOTATION_PROVIDER_PREFIX,
  ANNOTATION_PUBOPTS,
  layerCipherParams,
  parsePrivateOptions,
  parsePublicOptions,
  type LayerCipherParams,
} from './cipher-options.js';
import { unwrapJweAnnotation, type DecryptionKey } from './jwe-unwrap.js';
import type { KeyUnwrapper } from './keyprovider.js';

export interface LayerKeySources {
  readonly decryptionKeys?: readonly DecryptionKey[] | undefined;
  readonly keyUnwrapper?: KeyUnwrapper | undefined;
  readonly signal?: AbortSignal | undefined;
}

function failed(
  layer: string,
  why: string,
  code: 'ERR_OCI_DECRYPT' | 'ERR_OCI_NO_KEY',
  cause?: unknown,
): OciError {
  return new OciError(
    'permission_denied',
    code,
    `Failed to decrypt the image layer ${layer}: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

async function viaProviders(
  desc: Descriptor,
  unwrapper: KeyUnwrapper,
  signal: AbortSignal | undefined,
): Promise<{ data: Uint8Array | undefined; errors: string[] }> {
  const errors: string[] = [];
  for (const [name, value] of Object.entries(desc.annotations)) {
    if (!name.startsWith(ANNOTATION_PROVIDER_PREFIX)) continue;
    const provider = name.slice(ANNOTATION_PROVIDER_PREFIX.length);
    for (const part of value.split(',')) {
      try {
        const annotation = Buffer.from(part.trim(), 'base64');
        return {
          data: await unwrapper.unwrapKey(
            { provider, annotation, layerDigest: desc.digest },
            signal,
          ),
          errors,
        };
      } catch (err) {
        if (signal?.aborted) throw err;
        errors.push(`${provider}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
  return { data: undefined, errors };
}

/** Whether the descriptor carries any ocicrypt wrapped-key annotation. */
export function hasWrappedKeys(desc: Descriptor): boolean {
  return Object.keys(desc.annotations).some(
    (k) => k === ANNOTATION_JWE || k.startsWith(ANNOTATION_PROVIDER_PREFIX),
  );
}

/**
 * Unwraps the layer key of an encrypted layer (JWE with the given private keys, then the key
 * providers through `keyUnwrapper`) and returns the cipher parameters.
 */
export async function resolveLayerCipher(
  desc: Descriptor,
  sources: LayerKeySources,
): Promise<LayerCipherParams> {
  const layer = desc.digest;
  if (!hasWrappedKeys(desc))
    throw failed(layer, 'the layer has no wrapped key annotations', 'ERR_OCI_DECRYPT');
  const keys = sources.decryptionKeys ?? [];
  const jwe = desc.annotations[ANNOTATION_JWE];
  const hasProvider = Object.keys(desc.annotations).some((k) =>
    k.startsWith(ANNOTATION_PROVIDER_PREFIX),
  );
  let optsData: Uint8Array | undefined;
  const notes: string[] = [];
  if (jwe !== undefined && keys.length > 0) {
    optsData = await unwrapJweAnnotation(jwe, keys);
    if (!optsData)
      notes.push(`none of the ${String(keys.length)} decryption key(s) unwraps its JWE layer key`);
  }
  if (!optsData && hasProvider && sources.keyUnwrapper) {
    const r = await viaProviders(desc, sources.keyUnwrapper, sources.signal);
    optsData = r.data;
    if (!optsData) notes.push(`the key provider could not unwrap it (${r.errors.join('; ')})`);
  }
  if (!optsData) {
    if (notes.length === 0) {
      throw failed(
        layer,
        'the image is encrypted and no decryption key was given (--decryption-key FILE, or a key provider)',
        'ERR_OCI_NO_KEY',
      );
    }
    throw failed(layer, notes.join('; '), 'ERR_OCI_DECRYPT');
  }
  const priv = parsePrivateOptions(optsData, layer);
  const pub = parsePublicOptions(desc.annotations[ANNOTATION_PUBOPTS], layer);
  return layerCipherParams(priv, pub, layer);
}
