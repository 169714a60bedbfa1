import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createVerifier } from '#attestation/verifier/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const SNP = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'evidence', 'snp');
const HAVE = existsSync(SNP);
if (!HAVE) console.log(`skipping SNP verifier unit tests: ${SNP} is missing`);

describe.skipIf(!HAVE)('SNP verifier VEK provider', () => {
  const report = (): Uint8Array =>
    new Uint8Array(readFileSync(join(SNP, 'gosev_milan_v2', 'report.bin')));
  const vcek = new Uint8Array(readFileSync(join(SNP, 'gosev_milan_v2', 'vcek.der')));

  test('asks the provider for the VCEK when the evidence carries none', async () => {
    const asked: string[] = [];
    const v = createVerifier('snp', {
      vekProvider: {
        getVek: ({ report: r, key }) => {
          asked.push(`${key}:${Buffer.from(r.chipId.subarray(0, 4)).toString('hex')}`);
          return Promise.resolve(vcek);
        },
      },
    });
    const claims = await v.verify({ report: report() }, {});
    expect(asked).toEqual(['vcek:3ac3fe21']);
    expect(claims['policy_debug_allowed']).toBe(true);
  });

  test('a provider without an answer gives ERR_SNP_VCEK_MISSING', async () => {
    const v = createVerifier('snp', { vekProvider: { getVek: () => Promise.resolve(undefined) } });
    await expect(v.verify({ report: report() }, {})).rejects.toMatchObject({
      code: 'ERR_SNP_VCEK_MISSING',
      kind: 'invalid_argument',
    });
  });

  test('malformed JSON evidence is rejected, never a crash', async () => {
    const v = createVerifier('snp');
    for (const ev of [
      null,
      1,
      [],
      { attestation_report: {} },
      { attestation_report: null, cert_chain: 3 },
      { other: 1 },
    ]) {
      await expect(v.verify(ev, {})).rejects.toMatchObject({
        name: 'VerifierError',
        kind: 'invalid_argument',
      });
    }
  });
});
