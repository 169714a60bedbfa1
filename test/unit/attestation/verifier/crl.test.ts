import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  checkCrlSignature,
  checkCrlValidity,
  isRevoked,
  normalizeSerial,
  parseCrl,
} from '#attestation/verifier/crl.js';
import { VerifierError } from '#attestation/verifier/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const TDX = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'evidence', 'tdx');
const HAVE = existsSync(TDX);
if (!HAVE) console.log(`skipping CRL tests on real CRLs: ${TDX} is missing`);

describe.skipIf(!HAVE)('CRL', () => {
  const crlDer = new Uint8Array(readFileSync(join(TDX, 'gotdx_spr_e4_v4', 'pck_platform_crl.der')));
  const issuer = new X509Certificate(
    readFileSync(join(TDX, 'gotdx_spr_e4_v4', 'pck_crl_issuer_chain.pem'), 'utf8').split(
      /(?<=-----END CERTIFICATE-----)/,
    )[0]!,
  );
  const root = new X509Certificate(readFileSync(join(TDX, 'roots', 'intel_sgx_root_ca.pem')));

  test('parses the Intel PCK Platform CA CRL: 44 entries, dates, signature', () => {
    const crl = parseCrl(crlDer, 'pck crl', 'ERR_TDX_CRL');
    expect(crl.revoked.size).toBe(44);
    expect(crl.thisUpdate.toISOString()).toBe('2023-06-08T07:27:52.000Z');
    expect(crl.nextUpdate?.toISOString()).toBe('2023-07-08T07:27:52.000Z');
    expect(() => {
      checkCrlSignature(crl, issuer, 'pck crl', 'ERR_TDX_CRL');
    }).not.toThrow();
    expect(() => {
      checkCrlSignature(crl, root, 'pck crl', 'ERR_TDX_CRL');
    }).toThrow(VerifierError);
  });

  test('a serial on the CRL is revoked whatever its case or leading zeros', () => {
    const crl = parseCrl(crlDer, 'pck crl', 'ERR_TDX_CRL');
    const first = [...crl.revoked][0]!;
    expect(isRevoked(crl, `00${first.toUpperCase()}`)).toBe(true);
    expect(isRevoked(crl, 'bba6c175d838b8df3900cc3411f24f512d104102')).toBe(false);
    expect(normalizeSerial('0000ab')).toBe('ab');
    expect(normalizeSerial('00')).toBe('00');
  });

  test('validity is checked against now', () => {
    const crl = parseCrl(crlDer, 'pck crl', 'ERR_TDX_CRL');
    expect(() => {
      checkCrlValidity(
        crl,
        new Date('2023-07-01T00:00:00Z'),
        'pck crl',
        'ERR_TDX_COLLATERAL_EXPIRED',
      );
    }).not.toThrow();
    expect(() => {
      checkCrlValidity(
        crl,
        new Date('2024-01-01T00:00:00Z'),
        'pck crl',
        'ERR_TDX_COLLATERAL_EXPIRED',
      );
    }).toThrow(expect.objectContaining({ code: 'ERR_TDX_COLLATERAL_EXPIRED' }));
  });

  test('a truncation at every offset throws a VerifierError', () => {
    for (let cut = 0; cut < crlDer.byteLength; cut += 7) {
      expect(
        () => parseCrl(crlDer.subarray(0, cut), 'pck crl', 'ERR_TDX_CRL'),
        `cut at ${cut}`,
      ).toThrow(VerifierError);
    }
  });
});
