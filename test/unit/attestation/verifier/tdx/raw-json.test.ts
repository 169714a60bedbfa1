import { describe, expect, test } from 'vitest';
import { rawJsonMember } from '#attestation/verifier/tdx/raw-json.js';

describe('rawJsonMember', () => {
  test('returns the exact source text of a top-level member', () => {
    const text = '{"tcbInfo":{"a":"}{,","b":[1, 2,{"c":3}]} , "signature":"ab\\"cd"}';
    expect(rawJsonMember(text, 'tcbInfo')).toBe('{"a":"}{,","b":[1, 2,{"c":3}]}');
    expect(rawJsonMember(text, 'signature')).toBe('"ab\\"cd"');
    expect(rawJsonMember(text, 'a')).toBeUndefined();
    expect(rawJsonMember('{"x": 12 }', 'x')).toBe('12');
  });

  test('never throws on arbitrary text', () => {
    for (const t of ['', '{', '{"a"', '{"a":', '"', '}}}', '{"a":{"b":'])
      expect(() => rawJsonMember(t, 'a')).not.toThrow();
  });
});
