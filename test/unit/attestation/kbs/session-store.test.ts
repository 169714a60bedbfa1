import { describe, expect, test } from 'vitest';
import { SESSION_TTL_MS, SessionStore } from '#attestation/kbs/index.js';

describe('SessionStore', () => {
  test('gives each session a fresh 32-byte nonce and a 5-minute life', () => {
    let now = 1_000_000;
    const s = new SessionStore({ now: () => now });
    const a = s.create('tdx');
    const b = s.create('tdx');
    expect(a.id).not.toBe(b.id);
    expect(Buffer.from(a.nonce, 'base64')).toHaveLength(32);
    expect(a.nonce).not.toBe(b.nonce);
    now += SESSION_TTL_MS - 1;
    expect(s.get(a.id)).toBe(a);
    now += 1;
    expect(() => s.get(a.id)).toThrow(expect.objectContaining({ code: 'ERR_KBS_SESSION_EXPIRED' }));
    expect(() => s.get(a.id)).toThrow(
      expect.objectContaining({ code: 'ERR_KBS_COOKIE_NOT_FOUND' }),
    );
  });

  test('lets a nonce be used once', () => {
    const s = new SessionStore();
    const a = s.create('snp');
    s.beginAttest(a);
    expect(() => {
      s.beginAttest(a);
    }).toThrow(expect.objectContaining({ code: 'ERR_KBS_NONCE_USED' }));
  });

  test('refuses new sessions past the limit until old ones expire', () => {
    let now = 0;
    const s = new SessionStore({ now: () => now, max: 2 });
    s.create('tdx');
    s.create('tdx');
    expect(() => s.create('tdx')).toThrow(
      expect.objectContaining({ code: 'ERR_KBS_TOO_MANY_SESSIONS' }),
    );
    now += SESSION_TTL_MS;
    expect(s.create('tdx').tee).toBe('tdx');
    expect(s.size).toBe(1);
  });

  test('reports a missing cookie', () => {
    expect(() => new SessionStore().get(undefined)).toThrow(/no kbs-session-id cookie/);
  });
});
