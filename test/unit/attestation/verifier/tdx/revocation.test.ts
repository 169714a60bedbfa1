// TDX CRL checks with a throw-away PKI (the shared testdata's Intel CRLs revoke none of its PCK
// certificates, and no Intel key can sign a new one): root → PCK CA → PCK leaf, root → TCB signing,
// CRLs made with `openssl ca`. The TCB info and QE identity are the real Intel texts with their
// validity window moved to now and re-signed by the test TCB signing key.
import { sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parsePcsSignedJson, type TdxCollateral } from '#attestation/verifier/index.js';
import { checkCollateral } from '#attestation/verifier/tdx/collateral-check.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { TestPki, testPkiMissing, type TestCert } from '#test/helpers/test-pki.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const SPR = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'evidence', 'tdx', 'gotdx_spr_e4_v4');
const why = testPkiMissing() ?? (existsSync(SPR) ? undefined : `${SPR} is missing`);
if (why) console.log(`skipping TDX revocation tests: ${why}`);

const dir = tmpdir('kata-cc-tdx-crl-');
afterAll(() => {
  dir.remove();
});

const DAY = 86_400_000;
const now = new Date(Math.floor(Date.now() / 1000) * 1000);
/** A moment after every certificate and CRL of the test was made (openssl dates are whole seconds). */
const later = (): Date => new Date(Date.now() + 2000);
const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function resigned(
  file: string,
  member: string,
  signer: TestCert,
): { json: string; sig: Uint8Array } {
  const { json } = parsePcsSignedJson(readFileSync(join(SPR, file), 'utf8'), member, file);
  const moved = json
    .replace(/"issueDate":"[^"]+"/, `"issueDate":"${iso(new Date(now.getTime() - DAY))}"`)
    .replace(/"nextUpdate":"[^"]+"/, `"nextUpdate":"${iso(new Date(now.getTime() + 60 * DAY))}"`);
  const sig = sign('sha256', Buffer.from(moved), { key: signer.key, dsaEncoding: 'ieee-p1363' });
  return { json: moved, sig: new Uint8Array(sig) };
}

describe.skipIf(why !== undefined)('TDX collateral revocation (CRLs)', () => {
  const pki = new TestPki(dir.path);
  const root = pki.issue('root', 'p256');
  const pckCa = pki.issue('pck-ca', 'p256', root);
  const leaf = pki.issue('pck-leaf', 'p256', pckCa, false);
  const other = pki.issue('other-leaf', 'p256', pckCa, false);
  const tcbSigner = pki.issue('tcb-signing', 'p256', root, false);
  const tcb = resigned('tcbinfo_fmspc_50806f000000.json', 'tcbInfo', tcbSigner);
  const qe = resigned('qe_identity_td_qe.json', 'enclaveIdentity', tcbSigner);
  const base = (pckCrl: Uint8Array, rootCaCrl?: Uint8Array): TdxCollateral => ({
    tcbInfoJson: tcb.json,
    tcbInfoSignature: tcb.sig,
    tcbInfoIssuerChainPem: tcbSigner.pem + root.pem,
    qeIdentityJson: qe.json,
    qeIdentitySignature: qe.sig,
    qeIdentityIssuerChainPem: tcbSigner.pem + root.pem,
    pckCrl,
    pckCrlIssuerChainPem: pckCa.pem + root.pem,
    rootCaCrl,
  });
  const check = (c: TdxCollateral, at = later()) =>
    checkCollateral(c, [leaf.cert, pckCa.cert], root.cert, at, '50806f000000', '0000');

  test('CRLs that revoke nothing (or another certificate) pass', () => {
    expect(check(base(pki.crl(pckCa, []), pki.crl(root, []))).tcbInfo.fmspc).toBe('50806f000000');
    expect(check(base(pki.crl(pckCa, [other]))).qeIdentity).toBeDefined();
  });

  test('a PCK certificate on the PCK CRL fails ERR_TDX_CRL_REVOKED naming its serial', () => {
    expect(() => check(base(pki.crl(pckCa, [other, leaf]), pki.crl(root, [])))).toThrow(
      expect.objectContaining({
        code: 'ERR_TDX_CRL_REVOKED',
        message: expect.stringContaining(
          `PCK certificate ${leaf.cert.serialNumber.toLowerCase()} is revoked`,
        ) as unknown,
      }),
    );
  });

  test('a PCK CA on the Intel root CA CRL fails ERR_TDX_CRL_REVOKED', () => {
    expect(() => check(base(pki.crl(pckCa, []), pki.crl(root, [pckCa])))).toThrow(
      expect.objectContaining({
        code: 'ERR_TDX_CRL_REVOKED',
        message: expect.stringContaining('revoked by the Intel SGX Root CA CRL') as unknown,
      }),
    );
  });

  test('a CRL signed by the wrong CA, or out of date, is refused', () => {
    expect(() => check(base(pki.crl(root, [])))).toThrow(
      expect.objectContaining({ code: 'ERR_TDX_CRL' }),
    );
    expect(() => check(base(pki.crl(pckCa, []), pki.crl(pckCa, [])))).toThrow(
      expect.objectContaining({ code: 'ERR_TDX_CRL' }),
    );
    expect(() => check(base(pki.crl(pckCa, [], 30)), new Date(now.getTime() + 40 * DAY))).toThrow(
      expect.objectContaining({
        code: 'ERR_TDX_COLLATERAL_EXPIRED',
        message: expect.stringContaining('tdx pck crl') as unknown,
      }),
    );
  });
});
