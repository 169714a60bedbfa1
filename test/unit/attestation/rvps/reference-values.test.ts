import { describe, expect, test } from 'vitest';
import { ReferenceValueStore, parseReferenceValue } from '#attestation/rvps/index.js';
import { MemoryStore } from '#attestation/store/index.js';

describe('ReferenceValueStore', () => {
  test('serves unexpired reference values as data.reference', async () => {
    let now = Date.parse('2026-12-01T00:00:00Z');
    const rv = new ReferenceValueStore(new MemoryStore(), () => now);
    await rv.set(parseReferenceValue({ name: 'snp.measurement', values: ['aa', 'bb'] }));
    await rv.set(
      parseReferenceValue({ name: 'tdx.mr_td', values: ['cc'], expires: '2026-12-02T00:00:00Z' }),
    );
    expect(await rv.referenceData()).toEqual({
      'snp.measurement': ['aa', 'bb'],
      'tdx.mr_td': ['cc'],
    });
    now = Date.parse('2026-12-02T00:00:00Z');
    expect(await rv.referenceData()).toEqual({ 'snp.measurement': ['aa', 'bb'] });
    expect((await rv.get('tdx.mr_td'))?.expiresAt).toBe(now);
  });

  test.each([
    [{ name: 'a b', values: [] }, /name/],
    [{ name: 'a', values: [1] }, /values/],
    [{ name: 'a', values: [], expires: 'tomorrow' }, /RFC 3339/],
    [{ name: 'a', values: [], extra: 1 }, /unknown member/],
  ])('rejects %j', (raw, message) => {
    expect(() => parseReferenceValue(raw)).toThrow(message);
  });
});
