import {
  INITDATA_ALGORITHMS,
  INITDATA_DIGEST_PARAM,
  isInitDataAlgorithm,
  type InitDataAlgorithm,
} from '#src/tee/index.js';
import { GuestInitDataError } from './errors.js';

/**
 * Kernel command-line key the shim sets for a guest without a TEE (`coco-dev`):
 * `kata.initdata_digest=<algorithm>:<hex digest>`. Nothing measures it — the host can write
 * anything — so it only stands in for MRCONFIGID / HOST_DATA in the sample attester's evidence.
 */
export const LAUNCH_DIGEST_KEY = INITDATA_DIGEST_PARAM;

const LENGTH: Record<InitDataAlgorithm, number> = { sha256: 32, sha384: 48, sha512: 64 };

export interface LaunchDigest {
  readonly algorithm: InitDataAlgorithm;
  readonly digest: Uint8Array;
}

/** The launch digest named on `cmdline` (last occurrence wins, as for the kernel); undefined if absent. */
export function parseLaunchDigest(cmdline: string): LaunchDigest | undefined {
  let raw: string | undefined;
  for (const word of cmdline.split(/\s+/))
    if (word.startsWith(`${LAUNCH_DIGEST_KEY}=`)) raw = word.slice(LAUNCH_DIGEST_KEY.length + 1);
  if (raw === undefined) return undefined;
  const colon = raw.indexOf(':');
  const algorithm = raw.slice(0, colon);
  const hex = raw.slice(colon + 1);
  if (colon < 0 || !isInitDataAlgorithm(algorithm))
    throw new GuestInitDataError(
      'invalid_argument',
      'ERR_INITDATA_DISK',
      `${LAUNCH_DIGEST_KEY}: expected <${INITDATA_ALGORITHMS.join('|')}>:<hex>, got ${JSON.stringify(raw)}`,
    );
  if (!/^[0-9a-f]*$/.test(hex) || hex.length !== LENGTH[algorithm] * 2)
    throw new GuestInitDataError(
      'invalid_argument',
      'ERR_INITDATA_DISK',
      `${LAUNCH_DIGEST_KEY}: expected ${String(LENGTH[algorithm] * 2)} lower-case hex digits for ${algorithm}`,
    );
  return { algorithm, digest: new Uint8Array(Buffer.from(hex, 'hex')) };
}
