import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { malformedInput } from './errors.js';

/**
 * Reads a data file shipped beside the verifier sources (trust anchors such as the Intel SGX Root
 * CA and the AMD ARK/ASK chains). From the sources the file sits next to this module; from a
 * bundle (dist/kbs.mjs) it is found under the nearest ancestor's attestation/verifier/.
 */
export function readVerifierDataFile(rel: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const tried = [join(here, rel)];
  for (let dir = here; ; dir = dirname(dir)) {
    tried.push(join(dir, 'attestation', 'verifier', rel));
    if (dirname(dir) === dir) break;
  }
  for (const p of tried) if (existsSync(p)) return readFileSync(p, 'utf8');
  throw malformedInput(
    'ERR_VERIFIER_CONFIG',
    `verifier data file ${rel} not found (looked in ${tried.slice(0, 3).join(', ')} …)`,
  );
}
