import { isCcError } from '#src/lib/index.js';
import {
  encodeKeyUnwrapResponse,
  parseAnnotationPacket,
  parseKeyUnwrapRequest,
  WRAP_TYPE_A256GCM,
} from '#src/oci/index.js';
import { openA256Gcm } from './aes-gcm.js';
import { CdhError } from './errors.js';
import type { ResourceGetter } from './sealed-secret.js';

const bad = (m: string, cause?: unknown): CdhError =>
  new CdhError(
    'invalid_argument',
    'ERR_CDH_KEYPROVIDER',
    `keyprovider: ${m}`,
    cause === undefined ? undefined : { cause },
  );

/**
 * The CDH keyprovider `UnWrapKey`: the request is keyprovider-protocol JSON whose annotation is
 * the KBS annotation packet `{"kid": "kbs:///…", "wrapped_data", "iv", "wrap_type": "A256GCM"}`
 * (parsed by `src/oci`, the same code `kata-cc keyprovider` writes it with); the key encryption
 * key is fetched from the KBS and the layer key options returned as `optsdata`.
 */
export async function unwrapKey(
  input: Uint8Array,
  getResource: ResourceGetter,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  let packet;
  try {
    const { annotation } = parseKeyUnwrapRequest(Buffer.from(input).toString('utf8'));
    packet = parseAnnotationPacket(annotation);
  } catch (err) {
    throw bad(err instanceof Error ? err.message : String(err), err);
  }
  if (packet.wrapType !== WRAP_TYPE_A256GCM)
    throw new CdhError(
      'unimplemented',
      'ERR_CDH_KEYPROVIDER',
      `keyprovider: wrap_type ${JSON.stringify(packet.wrapType)} is not supported (only ${WRAP_TYPE_A256GCM})`,
    );
  let kek: Uint8Array;
  try {
    kek = await getResource(packet.kid, { signal });
  } catch (err) {
    if (!isCcError(err) || signal?.aborted) throw err;
    throw new CdhError(
      err.kind,
      'ERR_CDH_KEYPROVIDER',
      `keyprovider: cannot get the key-encryption key ${packet.kid}: ${err.message}`,
      { cause: err },
    );
  }
  const optsdata = openA256Gcm(kek, packet.iv, packet.wrappedData, `keyprovider key ${packet.kid}`);
  return new Uint8Array(Buffer.from(encodeKeyUnwrapResponse(optsdata)));
}
