import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ContentMemo, contentKey } from '#attestation/verifier/content-memo.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

describe('ContentMemo', () => {
  test('computes once per key, keeps at most max entries, least recently used out first', () => {
    const m = new ContentMemo<number>(2);
    let calls = 0;
    const f = (v: number) => () => {
      calls++;
      return v;
    };
    expect(m.get('a', f(1))).toBe(1);
    expect(m.get('a', f(9))).toBe(1);
    expect(calls).toBe(1);
    m.get('b', f(2));
    m.get('a', f(9)); // a is now the most recent
    m.get('c', f(3)); // evicts b
    expect(m.size).toBe(2);
    expect(m.get('a', f(9))).toBe(1);
    expect(m.get('b', f(20))).toBe(20); // evicts c
    expect(m.get('c', f(30))).toBe(30);
  });

  test('remembers false and undefined, never a throw', () => {
    const m = new ContentMemo<boolean | undefined>();
    expect(m.get('f', () => false)).toBe(false);
    expect(m.get('f', () => true)).toBe(false);
    expect(m.get('u', () => undefined)).toBeUndefined();
    expect(m.get('u', () => true)).toBeUndefined();
    expect(() =>
      m.get('t', () => {
        throw new Error('bad');
      }),
    ).toThrow('bad');
    expect(m.get('t', () => true)).toBe(true);
  });
});

describe('contentKey', () => {
  test('depends on content only, and on how the parts split', () => {
    const a = new Uint8Array([1, 2, 3]);
    expect(contentKey(a)).toBe(contentKey(new Uint8Array([1, 2, 3])));
    expect(contentKey(a)).not.toBe(contentKey(new Uint8Array([1, 2, 4])));
    expect(contentKey('ab', 'c')).not.toBe(contentKey('a', 'bc'));
    expect(contentKey('ab')).not.toBe(contentKey(new TextEncoder().encode('ab')));
    const pem = readFileSync(
      join(PROJECT_ROOT, 'attestation', 'verifier', 'tdx', 'intel-sgx-root-ca.pem'),
      'utf8',
    );
    expect(contentKey(new X509Certificate(pem))).toBe(contentKey(new X509Certificate(pem)));
  });
});
