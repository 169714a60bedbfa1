import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  DerReader,
  certificateExtensions,
  derTime,
  derUint,
  oidText,
} from '#attestation/verifier/der.js';
import { VerifierError } from '#attestation/verifier/index.js';

describe('DER reader', () => {
  test('decodes OIDs, unsigned integers and times', () => {
    expect(oidText(Uint8Array.from([0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01]))).toBe(
      '1.2.840.113741.1.13.1',
    );
    expect(
      oidText(Uint8Array.from([0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c, 0x78, 0x01, 0x03, 0x08])),
    ).toBe('1.3.6.1.4.1.3704.1.3.8');
    expect(derUint(Uint8Array.from([0x00, 0x01, 0x00]))).toBe(256);
    expect(
      derTime({
        tag: 0x17,
        content: new TextEncoder().encode('230608072752Z'),
        raw: new Uint8Array(),
      }).toISOString(),
    ).toBe('2023-06-08T07:27:52.000Z');
    expect(
      derTime({
        tag: 0x18,
        content: new TextEncoder().encode('20491231235959Z'),
        raw: new Uint8Array(),
      }).toISOString(),
    ).toBe('2049-12-31T23:59:59.000Z');
  });

  test('reads long-form lengths and rejects lengths past the end', () => {
    const long = Uint8Array.from([0x04, 0x81, 0x02, 0xaa, 0xbb]);
    expect(new DerReader(long, 't', 'ERR_TDX_CRL').next(0x04).content).toEqual(
      Uint8Array.from([0xaa, 0xbb]),
    );
    expect(() =>
      new DerReader(Uint8Array.from([0x04, 0x05, 0x00]), 't', 'ERR_TDX_CRL').next(),
    ).toThrow(/runs past the end/);
    expect(() =>
      new DerReader(Uint8Array.from([0x04, 0x85, 1, 1, 1, 1, 1]), 't', 'ERR_TDX_CRL').next(),
    ).toThrow(/length of 5 bytes/);
  });

  test('arbitrary bytes give a VerifierError or a map, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          certificateExtensions(bytes, 'fuzz', 'ERR_SNP_VCEK_EXTENSIONS');
        } catch (err) {
          if (!(err instanceof VerifierError)) throw err;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
