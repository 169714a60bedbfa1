import { isPlainObject } from '#src/lib/index.js';
import { encodeKeyUnwrapResponse, parseKeyUnwrapRequest } from '#src/oci/index.js';
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

function bytes(o: Record<string, unknown>, k: string): Uint8Array {
  const v = o[k];
  if (typeof v === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(v))
    return new Uint8Array(Buffer.from(v, /[-_]/.test(v) ? 'base64url' : 'base64'));
  if (
    Array.isArray(v) &&
    v.every((b) => Number.isInteger(b) && (b as number) >= 0 && (b as number) <= 255)
  )
    return new Uint8Array(v as number[]);
  throw bad(`annotation packet "${k}" must be base64 or an array of bytes`);
}

/**
 * The CDH keyprovider `UnWrapKey`: the request is keyprovider-protocol JSON whose annotation is
 * the KBS annotation packet `{"kid": "kbs:///…", "wrapped_data", "iv", "wrap_type": "A256GCM"}`;
 * the key encryption key is fetched from the KBS and the layer key options returned as `optsdata`.
 */
export async function unwrapKey(
  input: Uint8Array,
  getResource: ResourceGetter,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  let annotation: Uint8Array;
  try {
    annotation = parseKeyUnwrapRequest(Buffer.from(input).toString('utf8')).annotation;
  } catch (err) {
    throw bad(err instanceof Error ? err.message : String(err), err);
  }
  let packet: unknown;
  try {
    packet = JSON.parse(Buffer.from(annotation).toString('utf8'));
  } catch (err) {
    throw bad('the annotation is not an annotation packet (JSON)', err);
  }
  if (!isPlainObject(packet)) throw bad('the annotation packet must be a JSON object');
  const kid = packet['kid'];
  if (typeof kid !== 'string') throw bad('annotation packet "kid" must be a kbs:/// resource uri');
  const wrapType = packet['wrap_type'] ?? 'A256GCM';
  if (wrapType !== 'A256GCM')
    throw new CdhError(
      'unimplemented',
      'ERR_CDH_KEYPROVIDER',
      `keyprovider: wrap_type ${JSON.stringify(wrapType)} is not supported (only A256GCM)`,
    );
  const kek = await getResource(kid, { signal });
  const optsdata = openA256Gcm(
    kek,
    bytes(packet, 'iv'),
    bytes(packet, 'wrapped_data'),
    `keyprovider key ${kid}`,
  );
  return new Uint8Array(Buffer.from(encodeKeyUnwrapResponse(optsdata)));
}
