import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { AttestationService, RegoPolicyEngine, TokenSigner } from '#attestation/as/index.js';
import { PolicyStore } from '#attestation/policy/index.js';
import { ReferenceValueStore } from '#attestation/rvps/index.js';
import { MemoryStore } from '#attestation/store/index.js';
import { createVerifier, parseCertificates, type Verifier } from '#attestation/verifier/index.js';
import { generateTeeKeyPair } from '#src/protocol/kbs/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const SNP = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'evidence', 'snp', 'trustee_milan_v2');
const HAVE = existsSync(SNP);
if (!HAVE) console.log(`skipping AS SNP tests: ${SNP} is missing`);
const MEASUREMENT =
  'a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c';

async function service(
  verifier: Verifier,
  skip: boolean,
): Promise<{ as: AttestationService; rv: ReferenceValueStore }> {
  const store = new MemoryStore();
  const rv = new ReferenceValueStore(store);
  const as = new AttestationService({
    verifierFor: (tee) => (tee === verifier.tee ? verifier : undefined),
    policies: new PolicyStore(store, join(PROJECT_ROOT, 'policies')),
    referenceValues: rv,
    engine: new RegoPolicyEngine(),
    signer: await TokenSigner.fromStore(store),
    skipReportDataBinding: skip,
  });
  return { as, rv };
}

function snpEvidence(): unknown {
  const vcek = parseCertificates(
    new Uint8Array(readFileSync(join(SNP, 'vcek.der'))),
    'vcek',
    'ERR_SNP_VCEK_CHAIN',
  )[0];
  return {
    report: new Uint8Array(readFileSync(join(SNP, 'report.bin'))),
    certs: [{ type: 'vcek', der: new Uint8Array(vcek?.raw ?? []) }],
  };
}

describe.skipIf(!HAVE)('AttestationService with real SNP evidence', () => {
  const runtimeData = { nonce: 'n', teePubkey: generateTeeKeyPair().publicKey };

  test('affirms when the measurement is a reference value, warns otherwise', async () => {
    const { as, rv } = await service(createVerifier('snp'), true);
    const warn = await as.attest({ tee: 'snp', evidence: snpEvidence(), runtimeData });
    const cpu0 = (c: Record<string, unknown>): Record<string, unknown> =>
      (c['submods'] as Record<string, Record<string, unknown>>)['cpu0'] ?? {};
    expect(cpu0(warn.claims)['ear.status']).toBe('warning');
    expect(cpu0(warn.claims)['ear.trustworthiness-vector']).toEqual({
      configuration: 2,
      executables: 33,
      hardware: 2,
    });
    await rv.set({ name: 'snp.measurement', values: [MEASUREMENT] });
    const ok = await as.attest({ tee: 'snp', evidence: snpEvidence(), runtimeData });
    expect(cpu0(ok.claims)['ear.status']).toBe('affirming');
    const ev = cpu0(ok.claims)['ear.veraison.annotated-evidence'] as Record<
      string,
      Record<string, unknown>
    >;
    expect(ev['snp']?.['measurement']).toBe(MEASUREMENT);
    expect(ev['runtime_data_claims']).toEqual({ nonce: 'n', 'tee-pubkey': runtimeData.teePubkey });
    expect((await as.verifyToken(ok.token))['eat_profile']).toBe(ok.claims['eat_profile']);
  });

  test('refuses real evidence whose report_data is not bound to this runtime-data', async () => {
    const { as } = await service(createVerifier('snp'), false);
    await expect(
      as.attest({ tee: 'snp', evidence: snpEvidence(), runtimeData }),
    ).rejects.toMatchObject({ code: 'ERR_REPORT_DATA_MISMATCH' });
  });

  test('refuses a TEE it has no verifier for and init-data that is not initdata TOML', async () => {
    const { as } = await service(createVerifier('snp'), true);
    await expect(as.attest({ tee: 'tdx', evidence: {}, runtimeData })).rejects.toMatchObject({
      code: 'ERR_AS_UNSUPPORTED_TEE',
    });
    await expect(
      as.attest({
        tee: 'snp',
        evidence: snpEvidence(),
        runtimeData,
        initData: { format: 'toml', body: 'x = ' },
      }),
    ).rejects.toMatchObject({ code: 'ERR_AS_INIT_DATA' });
  });
});
