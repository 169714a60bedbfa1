import { flattenedDecrypt, importJWK, exportJWK } from 'jose';
import { describe, expect, test } from 'vitest';
import {
  decryptWithTeeKey,
  encryptToTeeKey,
  generateTeeKeyPair,
  type TeePubKey,
} from '#src/protocol/kbs/index.js';

const payload = new TextEncoder().encode('the secret resource');

function header(b64: string): string {
  return Buffer.from(b64, 'base64url').toString('utf8');
}

describe('encryptToTeeKey', () => {
  test('serializes the ECDH-ES+A256KW header as Trustee does: alg, enc, epk{crv,kty,x,y}', () => {
    const kp = generateTeeKeyPair('ec');
    const jwe = encryptToTeeKey(kp.publicKey, payload);
    expect(header(jwe.protected)).toMatch(
      /^\{"alg":"ECDH-ES\+A256KW","enc":"A256GCM","epk":\{"crv":"P-256","kty":"EC","x":"[\w-]{43}","y":"[\w-]{43}"\}\}$/,
    );
    for (const v of Object.values(jwe)) expect(v).not.toMatch(/[=+/]/);
    expect(Object.keys(jwe)).toEqual(['protected', 'encrypted_key', 'iv', 'ciphertext', 'tag']);
  });

  test.each(['ec', 'rsa'] as const)('produces a %s JWE that jose decrypts', async (kind) => {
    const kp = generateTeeKeyPair(kind);
    const jwe = encryptToTeeKey(kp.publicKey, payload);
    const key = await importJWK(
      await exportJWK(kp.privateKey),
      kind === 'ec' ? 'ECDH-ES+A256KW' : 'RSA-OAEP-256',
    );
    const out = await flattenedDecrypt(jwe, key);
    expect(new TextDecoder().decode(out.plaintext)).toBe('the secret resource');
    expect(decryptWithTeeKey(jwe, kp.privateKey)).toEqual(payload);
  });

  test('refuses a tampered ciphertext', () => {
    const kp = generateTeeKeyPair('ec');
    const jwe = encryptToTeeKey(kp.publicKey, payload);
    const ct = Buffer.from(jwe.ciphertext, 'base64url');
    ct[0] = (ct[0] ?? 0) ^ 1;
    expect(() =>
      decryptWithTeeKey({ ...jwe, ciphertext: ct.toString('base64url') }, kp.privateKey),
    ).toThrow(expect.objectContaining({ code: 'ERR_KBS_JWE' }));
  });

  test.each<[string, TeePubKey]>([
    ['an unknown curve', { kty: 'EC', crv: 'P-192', alg: 'ECDH-ES+A256KW', x: 'AA', y: 'AA' }],
    ['the wrong EC alg', { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES', x: 'AA', y: 'AA' }],
    ['short coordinates', { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: 'AA', y: 'AA' }],
    ['RSA1_5', { kty: 'RSA', alg: 'RSA1_5', n: 'AQAB', e: 'AQAB' }],
    ['a tiny RSA modulus', { kty: 'RSA', alg: 'RSA-OAEP-256', n: 'AQAB', e: 'AQAB' }],
  ])('refuses %s', (_name, key) => {
    expect(() => encryptToTeeKey(key, payload)).toThrow(
      expect.objectContaining({ code: 'ERR_KBS_UNSUPPORTED_KEY' }),
    );
  });

  test('refuses a point that is not on the curve', () => {
    const kp = generateTeeKeyPair('ec');
    if (kp.publicKey.kty !== 'EC') throw new Error('expected EC');
    const bad = { ...kp.publicKey, y: kp.publicKey.x };
    expect(() => encryptToTeeKey(bad, payload)).toThrow(
      expect.objectContaining({ code: 'ERR_KBS_UNSUPPORTED_KEY' }),
    );
  });
});
