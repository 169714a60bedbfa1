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
      new AdminAuth(pem, () => now).check(`Bearer ${signAdminToken(admin.privateKey, { now })}`);
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
      new AdminAuth(pem, () => now).check(header);
    }).toThrow(message);
  });

  test('is disabled without a key and refuses non-Ed25519 keys', () => {
    expect(new AdminAuth(undefined).enabled).toBe(false);
    expect(() => {
      new AdminAuth(undefined).check('Bearer x.y.z');
    }).toThrow(/disabled/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .publicKey.export({ format: 'pem', type: 'spki' })
      .toString();
    expect(() => new AdminAuth(ec)).toThrow(/Ed25519/);
  });
});
