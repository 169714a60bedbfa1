import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { AdminAuth } from '#attestation/kbs/index.js';
import { signAdminToken } from '#src/protocol/kbs/index.js';

const admin = generateKeyPairSync('ed25519');
const pem = admin.publicKey.export({ format: 'pem', type: 'spki' }).toString();
const now = Date.parse('2026-12-01T12:00:00Z');

function jwt(header: unknown, payload: unknown): string {
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc(header)}.${enc(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), admin.privateKey).toString('base64url')}`;
}

describe('AdminAuth', () => {
  test('accepts a fresh EdDSA token from the admin key', () => {
    expect(() => {
      new AdminAuth(pem, () => now).check(
        `Bearer ${signAdminToken(admin.privateKey, { now })}`,
        '/kbs/v0/resource-policy',
      );
    }).not.toThrow();
  });

  test.each([
    ['no header', undefined, /Bearer/],
    [
      'a token from another key',
      `Bearer ${signAdminToken(generateKeyPairSync('ed25519').privateKey, { now })}`,
      /bad signature/,
    ],
    [
      'an expired token',
      `Bearer ${signAdminToken(admin.privateKey, { now: now - 3600_000 })}`,
      /expired/,
    ],
    ['a token without exp', `Bearer ${jwt({ alg: 'EdDSA' }, { iat: 1 })}`, /no exp/],
    ['alg none', `Bearer ${jwt({ alg: 'none' }, { exp: now / 1000 + 60 })}`, /EdDSA/],
    ['garbage', 'Bearer a.b.c', /not a JWT/],
  ])('rejects %s', (_name, header, message) => {
    expect(() => {
      new AdminAuth(pem, () => now).check(header, '/kbs/v0/resource-policy');
    }).toThrow(message);
  });

  test('is disabled without a key and refuses non-Ed25519 keys', () => {
    expect(new AdminAuth(undefined).enabled).toBe(false);
    expect(() => {
      new AdminAuth(undefined).check('Bearer x.y.z', '/kbs/v0/resources');
    }).toThrow(/disabled/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .publicKey.export({ format: 'pem', type: 'spki' })
      .toString();
    expect(() => new AdminAuth(ec)).toThrow(/Ed25519/);
  });

  test('with an ACL a token may use only the endpoints its role is allowed (Trustee regex ACL)', () => {
    const auth = new AdminAuth(pem, () => now, [
      { role: 'secrets', allowedEndpoints: '^/kbs/v0/resource/default/.+$' },
      { role: 'policy', allowedEndpoints: '^/kbs/v0/(attestation-policy|resource-policy)$' },
      { role: 'ops', allowedEndpoints: '^/kbs/v0/(reference-value|resources)$' },
    ]);
    const as = (role?: string): string =>
      `Bearer ${signAdminToken(admin.privateKey, { now, role })}`;
    const ok = (role: string, path: string): void => {
      expect(() => {
        auth.check(as(role), path);
      }).not.toThrow();
    };
    const no = (role: string | undefined, path: string, why: RegExp): void => {
      expect(() => {
        auth.check(as(role), path);
      }).toThrow(
        expect.objectContaining({
          code: 'ERR_KBS_ADMIN_AUTH',
          message: expect.stringMatching(why) as unknown,
        }),
      );
    };
    ok('secrets', '/kbs/v0/resource/default/key/1');
    no('secrets', '/kbs/v0/resource/other/key/1', /role "secrets" may not use/);
    no('secrets', '/kbs/v0/resource-policy', /may not use/);
    ok('policy', '/kbs/v0/resource-policy');
    ok('policy', '/kbs/v0/attestation-policy');
    no('policy', '/kbs/v0/reference-value', /may not use/);
    ok('ops', '/kbs/v0/reference-value');
    no('nobody', '/kbs/v0/resources', /may not use/);
    no(undefined, '/kbs/v0/resources', /no role claim/);
    expect(
      () => new AdminAuth(pem, () => now, [{ role: 'x', allowedEndpoints: '/kbs/v0/.*' }]),
    ).toThrow(/anchored/);
  });
});
