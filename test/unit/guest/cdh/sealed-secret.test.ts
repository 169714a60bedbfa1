import { generateKeyPairSync } from 'node:crypto';
import { CompactSign, exportJWK } from 'jose';
import { describe, expect, test } from 'vitest';
import {
  parseCdhConfig,
  parseSealedSecret,
  sealA256Gcm,
  unsealSecret,
  unwrapKey,
} from '#guest/cdh/index.js';
import { encodeKeyUnwrapRequest, parseKeyUnwrapResponse } from '#src/oci/index.js';

const b64url = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
const vault = {
  version: '0.1.0',
  type: 'vault',
  name: 'kbs:///r/t/v',
  provider: 'kbs',
  provider_settings: {},
  annotations: {},
};
const store = (m: Record<string, Uint8Array>) => (uri: string) => {
  const v = m[uri];
  return v ? Promise.resolve(v) : Promise.reject(new Error(`no ${uri}`));
};

describe('parseSealedSecret', () => {
  test('parses upstream vault secrets with placeholder header and signature', () => {
    const p = parseSealedSecret(`sealed.fakejwsheader.${b64url(vault)}.fakesignature`);
    expect(p.secret).toEqual({ type: 'vault', provider: 'kbs', name: 'kbs:///r/t/v' });
    expect(p.header).toBeUndefined();
  });

  test.each([
    ['no prefix', `x.${b64url(vault)}.s`],
    ['two parts', `sealed.h.${b64url(vault)}`],
    ['a non-JSON payload', 'sealed.h.bm90IGpzb24.s'],
    ['another version', `sealed.h.${b64url({ ...vault, version: '0.2.0' })}.s`],
    ['an unknown type', `sealed.h.${b64url({ ...vault, type: 'kms' })}.s`],
    [
      'an envelope without key_id',
      `sealed.h.${b64url({ version: '0.1.0', type: 'envelope', provider: 'kbs' })}.s`,
    ],
  ])('rejects %s', (_n, text) => {
    expect(() => parseSealedSecret(text)).toThrow(
      expect.objectContaining({ code: 'ERR_CDH_SEALED_SECRET' }),
    );
  });
});

describe('unsealSecret', () => {
  test('fetches a vault secret from the KBS', async () => {
    const out = await unsealSecret(`sealed.h.${b64url(vault)}.s`, {
      getResource: store({ 'kbs:///r/t/v': new Uint8Array([1, 2]) }),
    });
    expect(out).toEqual(new Uint8Array([1, 2]));
  });

  test('refuses a tampered envelope', async () => {
    const key = new Uint8Array(32).fill(1);
    const dk = new Uint8Array(32).fill(2);
    const w = sealA256Gcm(key, dk);
    const d = sealA256Gcm(dk, new Uint8Array([5]));
    d.sealed[0] = (d.sealed[0] ?? 0) ^ 1;
    const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
    const env = {
      version: '0.1.0',
      type: 'envelope',
      provider: 'kbs',
      key_id: 'kbs:///r/t/k',
      encrypted_key: b64(w.sealed),
      encrypted_data: b64(d.sealed),
      wrap_type: 'A256GCM',
      iv: b64(d.iv),
      annotations: { iv: b64(w.iv) },
    };
    await expect(
      unsealSecret(`sealed.h.${b64url(env)}.s`, { getResource: store({ 'kbs:///r/t/k': key }) }),
    ).rejects.toMatchObject({ code: 'ERR_CDH_DECRYPT', kind: 'permission_denied' });
  });

  test('verifies a signed secret with the JWK named by kid, and refuses a bad signature', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = new Uint8Array(Buffer.from(JSON.stringify(await exportJWK(publicKey))));
    const jws = await new CompactSign(Buffer.from(JSON.stringify(vault)))
      .setProtectedHeader({ alg: 'ES256', kid: 'kbs:///r/t/pub' })
      .sign(privateKey);
    const getResource = store({ 'kbs:///r/t/pub': jwk, 'kbs:///r/t/v': new Uint8Array([9]) });
    expect(await unsealSecret(`sealed.${jws}`, { getResource })).toEqual(new Uint8Array([9]));
    const [h, p] = jws.split('.');
    await expect(
      unsealSecret(`sealed.${h ?? ''}.${p ?? ''}.AAAA`, { getResource }),
    ).rejects.toMatchObject({ code: 'ERR_CDH_SEALED_SIGNATURE' });
  });

  test('refuses unsigned secrets when signatures are required', async () => {
    await expect(
      unsealSecret(`sealed.h.${b64url(vault)}.s`, {
        getResource: store({}),
        requireSignature: true,
      }),
    ).rejects.toMatchObject({ code: 'ERR_CDH_SEALED_SIGNATURE' });
  });

  test('answers unimplemented for providers other than kbs', async () => {
    await expect(
      unsealSecret(`sealed.h.${b64url({ ...vault, provider: 'aliyun' })}.s`, {
        getResource: store({}),
      }),
    ).rejects.toMatchObject({ kind: 'unimplemented' });
  });
});

describe('unwrapKey', () => {
  test('accepts byte fields as integer arrays and rejects a non-packet annotation', async () => {
    const kek = new Uint8Array(32).fill(4);
    const w = sealA256Gcm(kek, new Uint8Array([7, 7]));
    const packet = {
      kid: 'kbs:///r/t/kek',
      wrapped_data: [...w.sealed],
      iv: [...w.iv],
      wrap_type: 'A256GCM',
    };
    const out = await unwrapKey(
      new Uint8Array(
        Buffer.from(encodeKeyUnwrapRequest(new Uint8Array(Buffer.from(JSON.stringify(packet))))),
      ),
      store({ 'kbs:///r/t/kek': kek }),
    );
    expect(new Uint8Array(parseKeyUnwrapResponse(Buffer.from(out).toString()))).toEqual(
      new Uint8Array([7, 7]),
    );
    await expect(
      unwrapKey(
        new Uint8Array(Buffer.from(encodeKeyUnwrapRequest(new Uint8Array([1])))),
        store({}),
      ),
    ).rejects.toMatchObject({ code: 'ERR_CDH_KEYPROVIDER' });
  });
});

describe('parseCdhConfig', () => {
  test('reads the kbc section and rejects unknown keys', () => {
    expect(
      parseCdhConfig(
        'socket = "unix:///run/cdh.sock"\n[kbc]\nname = "cc_kbc"\nurl = "http://kbs:8080"\n',
      ),
    ).toMatchObject({ socket: 'unix:///run/cdh.sock', kbsUrl: 'http://kbs:8080' });
    expect(() => parseCdhConfig('[kbc]\nnope = 1\n')).toThrow(
      expect.objectContaining({ code: 'ERR_CDH_CONFIG' }),
    );
    expect(() => parseCdhConfig('[kbc]\nname = "offline_fs_kbc"\n')).toThrow(
      expect.objectContaining({ code: 'ERR_CDH_CONFIG' }),
    );
  });
});
