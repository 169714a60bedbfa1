// AMD KDS CRL checks with a throw-away PKI signed the way AMD signs (RSASSA-PSS, SHA-384, salt 48):
// the shared testdata has no AMD CRL (see its README) and no AMD key can sign one.
import { afterAll, describe, expect, test } from 'vitest';
import { loadAmdChains } from '#attestation/verifier/snp/snp-verifier.js';
import { checkAmdRevocation, loadAmdCrls } from '#attestation/verifier/snp/amd-crl.js';
import { createVerifier } from '#attestation/verifier/index.js';
import { TestPki, testPkiMissing } from '#test/helpers/test-pki.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const why = testPkiMissing();
if (why) console.log(`skipping AMD CRL tests: ${why}`);
const dir = tmpdir('kata-cc-amd-crl-');
afterAll(() => {
  dir.remove();
});
const later = (): Date => new Date(Date.now() + 2000);

describe.skipIf(why !== undefined)('AMD ARK CRLs', () => {
  const pki = new TestPki(dir.path);
  const ark = pki.issue('ARK-Test', 'rsa-pss');
  const ask = pki.issue('SEV-Test', 'rsa-pss', ark);
  const vcek = pki.issue('SEV-VCEK', 'p384', ask, false);
  const otherArk = pki.issue('ARK-Other', 'rsa-pss');
  const chains = loadAmdChains([ask.pem + ark.pem]);
  const chain = chains[0]!;

  test('a current CRL that lists neither the ASK nor the VCEK passes', () => {
    const crls = loadAmdCrls([pki.crl(ark, [])], chains);
    expect(crls[0]?.crl.signatureAlgorithm).toBe('1.2.840.113549.1.1.10');
    expect(() => {
      checkAmdRevocation(chain, vcek.cert, crls, later());
    }).not.toThrow();
  });

  test('a revoked ASK or VCEK fails ERR_SNP_CRL_REVOKED naming the certificate', () => {
    for (const revoked of [ask, vcek]) {
      const crls = loadAmdCrls([pki.crl(ark, [revoked])], chains);
      expect(() => {
        checkAmdRevocation(chain, vcek.cert, crls, later());
      }).toThrow(
        expect.objectContaining({
          code: 'ERR_SNP_CRL_REVOKED',
          message: expect.stringContaining(`'${revoked.name}' serial`) as unknown,
        }),
      );
    }
  });

  test('an out-of-date CRL fails ERR_SNP_CRL; one not signed by a trusted ARK is a config error', () => {
    const crls = loadAmdCrls([pki.crl(ark, [], 1)], chains);
    expect(() => {
      checkAmdRevocation(chain, vcek.cert, crls, new Date(Date.now() + 3 * 86_400_000));
    }).toThrow(expect.objectContaining({ code: 'ERR_SNP_CRL' }));
    expect(() => loadAmdCrls([pki.crl(otherArk, [])], chains)).toThrow(
      expect.objectContaining({ code: 'ERR_VERIFIER_CONFIG' }),
    );
    expect(() => createVerifier('snp', { amdCrls: [new Uint8Array([0x30, 0x00])] })).toThrow(
      expect.objectContaining({ code: 'ERR_VERIFIER_CONFIG' }),
    );
  });
});
