import { describe, expect, test } from 'vitest';
import { canonicalJson } from '#src/protocol/kbs/index.js';

describe('canonicalJson (RFC 8785)', () => {
  test.each([
    [0, '0'],
    [-0, '0'],
    [1, '1'],
    [-1.5, '-1.5'],
    [1e21, '1e+21'],
    [1e20, '100000000000000000000'],
    [5e-324, '5e-324'],
    [1e-7, '1e-7'],
    [0.000001, '0.000001'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [333333333.3333333, '333333333.3333333'],
    [9007199254740992, '9007199254740992'],
  ])('formats the number %s as %s', (n, text) => {
    expect(canonicalJson(n)).toBe(text);
  });

  test('rejects numbers JSON cannot carry', () => {
    expect(() => canonicalJson(NaN)).toThrow(/NaN/);
    expect(() => canonicalJson({ a: [Infinity] })).toThrow(/\$\.a\[0\]/);
  });

  test('escapes only quote, backslash and control characters', () => {
    expect(canonicalJson('\u0000\b\t\n\f\r"\\/\u001f\u007f€')).toBe(
      '"\\u0000\\b\\t\\n\\f\\r\\"\\\\/\\u001f\u007f€"',
    );
  });

  test('keeps surrogate pairs and rejects lone surrogates', () => {
    expect(canonicalJson('😀')).toBe('"😀"');
    expect(() => canonicalJson('\ud800x')).toThrow(/lone surrogate/);
    expect(() => canonicalJson('\udc00')).toThrow(/lone surrogate/);
  });

  test('sorts members by UTF-16 code units, not code points', () => {
    // U+FB33 sorts after U+1D11E's high surrogate D834 in UTF-16 but before it by code point.
    const o = {
      '\ufb33': 1,
      '\u{1d11e}': 2,
      '\u20ac': 3,
      '\r': 4,
      '1': 5,
      '\u0080': 6,
      '\u00f6': 7,
    };
    expect(canonicalJson(o)).toBe(
      '{"\\r":4,"1":5,"\u0080":6,"\u00f6":7,"\u20ac":3,"\u{1d11e}":2,"\ufb33":1}',
    );
  });

  test('serializes the RFC 8785 §3.2.2 example', () => {
    const input = {
      numbers: [Number('333333333.33333329'), 1e30, 4.5, 2e-3, 0.000000000000000000000000001],
      string: '\u20ac$\u000F\u000aA\'\u0042\u0022\u005c\\"/',
      literals: [null, true, false],
    };
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  test('nests without whitespace and drops undefined members', () => {
    expect(canonicalJson({ b: { d: [], c: {} }, a: undefined })).toBe('{"b":{"c":{},"d":[]}}');
  });

  test('rejects values that are not JSON', () => {
    expect(() => canonicalJson({ a: 1n })).toThrow(/bigint/);
    expect(() => canonicalJson(new Date(0))).toThrow(/plain object/);
  });
});
