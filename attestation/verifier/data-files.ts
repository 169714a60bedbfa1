import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { malformedInput } from './errors.js';

/**
 * Reads a data file shipped beside the verifier sources (trust anchors such as the Intel SGX Root
 * CA and the AMD ARK/ASK chains). Works from the sources (attestation/verifier/) and from the
 * bundle (dist/kbs.mjs, which finds the files under ../attestation/verifier/).
 */
export function readVerifierDataFile(rel: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, rel), join(here, '..', 'attestation', 'verifier', rel)];
  for (const p of candidates) if (existsSync(p)) return readFileSync(p, 'utf8');
  throw malformedInput(
    'ERR_VERIFIER_CONFIG',
    `verifier data file ${rel} not found (looked in ${candidates.join(', ')})`,
  );
}
