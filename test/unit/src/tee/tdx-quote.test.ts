import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { TeeError, parseTdxQuote } from '#src/tee/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const TDX = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'evidence', 'tdx');
const HAVE = existsSync(TDX);
if (!HAVE) console.log(`skipping TDX quote parser tests on real quotes: ${TDX} is missing`);
const quote = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(join(TDX, name, 'quote.bin')));

function throwsTeeError(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    if (!(err instanceof TeeError)) throw err;
    return true;
  }
}

describe('parseTdxQuote on arbitrary bytes', () => {
  test('throws a TeeError, never a TypeError or RangeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (bytes) => {
        expect(throwsTeeError(() => parseTdxQuote(bytes))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe.skipIf(!HAVE)('parseTdxQuote', () => {
  test('parses a v4 quote and bounds the signature data by its length field, not the buffer', () => {
    const q = parseTdxQuote(quote('gotdx_gcp_cos113_v4'));
    expect(q.header.version).toBe(4);
    expect(q.bodyType).toBe(2);
    expect(q.length).toBe(8000 - 3065);
    expect(q.signedBytes.byteLength).toBe(48 + 584);
    expect(q.certification.pckCertChainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    expect(q.certification.qeReport.isvSvn).toBe(6);
    expect(q.certification.qeAuthData).toEqual(new Uint8Array(32));
  });

  test('parses a v5 quote with a TD report 1.5 body', () => {
    const q = parseTdxQuote(quote('trustee_90c06f_v5'));
    expect(q.header.version).toBe(5);
    expect(q.bodyType).toBe(3);
    expect(q.signedBytes.byteLength).toBe(54 + 648);
    expect(Buffer.from(q.body.mrServiceTd!).toString('hex')).toBe(
      '383c87d3bbb047b2d171eaca95312ede99f258088dc788f6ae2ccf8b6dd848fe8d47629e08b3f6cbd4a00dd47a5a033d',
    );
    expect(Buffer.from(q.body.teeTcbSvn2!).toString('hex')).toBe(
      '05010200000000000000000000000000',
    );
    expect(q.certification.pckCertChainPem.endsWith('\0')).toBe(false);
  });

  test('a truncation at every offset throws a TeeError naming a field, never a RangeError', () => {
    const raw = quote('dcapqvl_90c06f_v5_outdated');
    for (let cut = 0; cut < raw.byteLength; cut++) {
      let err: unknown;
      try {
        parseTdxQuote(raw.subarray(0, cut));
      } catch (e) {
        err = e;
      }
      expect(err, `cut at ${cut}`).toBeInstanceOf(TeeError);
      expect((err as TeeError).message, `cut at ${cut}`).toMatch(/offset \d+/);
    }
    expect(() => parseTdxQuote(raw)).not.toThrow();
  });

  test('random byte corruption either parses or throws a TeeError', () => {
    const raw = quote('dcapqvl_b0c06f_v4');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: raw.byteLength - 1 }),
        fc.integer({ min: 0, max: 255 }),
        (at, v) => {
          const copy = raw.slice();
          copy[at] = v;
          try {
            parseTdxQuote(copy);
          } catch (err) {
            if (!(err instanceof TeeError)) throw err;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  test.each([
    [0, 3, /header\.version/],
    [2, 3, /att_key_type/],
    [4, 0, /tee_type.*SGX/],
  ])('rejects a header field at offset %i set to %i', (at, v, re) => {
    const raw = quote('dcapqvl_b0c06f_v4').slice();
    raw[at] = v;
    expect(() => parseTdxQuote(raw)).toThrow(re);
    expect(throwsTeeError(() => parseTdxQuote(raw))).toBe(true);
  });

  test('rejects a v5 body descriptor of an unknown type or a wrong size', () => {
    const raw = quote('trustee_90c06f_v5').slice();
    raw[48] = 1;
    expect(() => parseTdxQuote(raw)).toThrow(/body_descriptor\.type/);
    const raw2 = quote('trustee_90c06f_v5').slice();
    raw2[50] = 0;
    expect(() => parseTdxQuote(raw2)).toThrow(/body_descriptor\.size/);
  });

  test('rejects a signature data length that runs past the buffer', () => {
    const raw = quote('dcapqvl_90c06f_v5_outdated').slice();
    const at = 54 + 648;
    new DataView(raw.buffer).setUint32(at, 0xffffff, true);
    expect(() => parseTdxQuote(raw)).toThrow(/signature_data_len at offset 702/);
  });
});
