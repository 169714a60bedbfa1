import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createSampleAttester } from '#guest/attester/index.js';
import { GuestKbsClient, parseResourceUri, tokenExpiry } from '#guest/kbs-client/index.js';
import type { TestKbs } from '#test/helpers/kbs.js';
import { DENY_ALL, putResource, setResourcePolicy, startSampleKbs } from './kbs-fixture.js';

describe('GuestKbsClient against the KBS', () => {
  let kbs: TestKbs;
  let kbsNow = Date.now();
  beforeEach(async () => {
    kbsNow = Date.now();
    kbs = await startSampleKbs({ now: () => kbsNow });
    await putResource(kbs, 'default/key/one', 'secret-one');
  });
  afterEach(async () => {
    await kbs.stop();
  });

  test('fetches a JWE-wrapped resource with the sample attester', async () => {
    const c = new GuestKbsClient({ url: kbs.url, attester: createSampleAttester() });
    expect(Buffer.from(await c.getResource('kbs:///default/key/one')).toString()).toBe(
      'secret-one',
    );
  });

  test('fetches with an RSA ephemeral key when asked', async () => {
    const c = new GuestKbsClient({
      url: kbs.url,
      attester: createSampleAttester(),
      keyKind: 'rsa',
    });
    expect(Buffer.from(await c.getResource('default/key/one')).toString()).toBe('secret-one');
  });

  test('caches the token until shortly before it expires, then attests again', async () => {
    let now = Date.now();
    const c = new GuestKbsClient({
      url: kbs.url,
      attester: createSampleAttester(),
      now: () => now,
    });
    const t1 = await c.getToken();
    expect(await c.getToken()).toBe(t1);
    const exp = tokenExpiry(t1);
    expect(exp).toBeGreaterThan(now);
    now = (exp ?? 0) - 10_000;
    kbsNow += 1000;
    expect(await c.getToken()).not.toBe(t1);
  });

  test('re-attests once when the session cookie has expired', async () => {
    const inner = createSampleAttester();
    let attestations = 0;
    const attester = {
      tee: inner.tee,
      getEvidence: (rd: Uint8Array) => (attestations++, inner.getEvidence(rd)),
    };
    const c = new GuestKbsClient({ url: kbs.url, attester });
    await c.getResource('default/key/one');
    expect(attestations).toBe(1);
    kbsNow += 6 * 60_000;
    expect(Buffer.from(await c.getResource('default/key/one')).toString()).toBe('secret-one');
    expect(attestations).toBe(2);
  });

  test('answers a clear denial under a deny-all resource policy', async () => {
    await setResourcePolicy(kbs, DENY_ALL);
    const c = new GuestKbsClient({ url: kbs.url, attester: createSampleAttester() });
    await expect(c.getResource('kbs:///default/key/one')).rejects.toMatchObject({
      kind: 'permission_denied',
      code: 'ERR_GUEST_KBS_DENIED',
      message: expect.stringContaining('default/key/one') as unknown,
    });
  });

  test('answers not_found for a missing resource', async () => {
    const c = new GuestKbsClient({ url: kbs.url, attester: createSampleAttester() });
    await expect(c.getResource('kbs:///default/key/none')).rejects.toMatchObject({
      code: 'ERR_GUEST_KBS_NOT_FOUND',
    });
  });

  test('fails attestation clearly when the KBS refuses the sample TEE', async () => {
    const strict = await startSampleKbs({ allowSample: false });
    try {
      const c = new GuestKbsClient({ url: strict.url, attester: createSampleAttester() });
      await expect(c.getToken()).rejects.toMatchObject({
        kind: 'permission_denied',
        code: 'ERR_GUEST_KBS_ATTEST',
      });
    } finally {
      await strict.stop();
    }
  });

  test('sends init-data, which the KBS parses (malformed initdata is refused)', async () => {
    const c = new GuestKbsClient({
      url: kbs.url,
      attester: createSampleAttester(),
      initDataToml: 'not = "initdata"',
    });
    await expect(c.getToken()).rejects.toMatchObject({
      code: 'ERR_GUEST_KBS_ATTEST',
      message: expect.stringContaining('init-data') as unknown,
    });
  });
});

describe('parseResourceUri', () => {
  test.each([
    ['kbs:///default/key/one', 'default/key/one'],
    ['kbs://kbs.example:8080/a/b/c', 'a/b/c'],
    ['a/b/c', 'a/b/c'],
  ])('parses %s', (uri, path) => {
    expect(parseResourceUri(uri)).toBe(path);
  });
  test.each(['kbs://', 'kbs:///a/b', 'kbs:///a/../c', 'kbs:///a/b/c/d', ''])(
    'rejects %j',
    (uri) => {
      expect(() => parseResourceUri(uri)).toThrow(
        expect.objectContaining({ code: 'ERR_GUEST_KBS_URI' }),
      );
    },
  );
});
