import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  flattenedDecrypt,
  importJWK,
  exportJWK,
  jwtVerify,
  decodeProtectedHeader,
  type JWK,
} from 'jose';
import { afterEach, describe, expect, test } from 'vitest';
import {
  computeReportData,
  generateTeeKeyPair,
  parseFlattenedJwe,
  runtimeDataToJson,
  sampleEvidenceProvider,
  signAdminToken,
  type TeeKeyPair,
} from '#src/protocol/kbs/index.js';
import { startKbs, type TestKbs } from '#test/helpers/kbs.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const ERR = 'https://github.com/confidential-containers/kbs/errors/';
const ALLOW_AFFIRMING = readFileSync(
  join(PROJECT_ROOT, 'policies', 'kbs', 'allow-affirming.rego'),
  'utf8',
);
const DENY_ALL = 'package policy\n\ndefault allow := false\n';

let kbs: TestKbs | undefined;
afterEach(async () => {
  await kbs?.stop();
  kbs = undefined;
});

async function admin(k: TestKbs, path: string, body: unknown): Promise<Response> {
  return fetch(`${k.url}/kbs/v0/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${k.adminToken()}` },
    body: body instanceof Uint8Array ? body : JSON.stringify(body),
  });
}

async function provision(k: TestKbs, opts: { policy?: string; svn?: boolean } = {}): Promise<void> {
  const b64 = (t: string): string => Buffer.from(t).toString('base64');
  expect(
    (await admin(k, 'resource-policy', { policy: b64(opts.policy ?? ALLOW_AFFIRMING) })).status,
  ).toBe(200);
  if (opts.svn !== false)
    expect((await admin(k, 'reference-value', { name: 'sample.svn', values: ['1'] })).status).toBe(
      200,
    );
  expect(
    (await admin(k, 'resource/default/key/1', new TextEncoder().encode('s3cret'))).status,
  ).toBe(200);
}

/** Raw RCAR over fetch, so tests can bend each step. */
async function auth(
  k: TestKbs,
  body: unknown = { version: '0.4.0', tee: 'sample', 'extra-params': '' },
): Promise<{ res: Response; cookie: string; nonce: string }> {
  const res = await fetch(`${k.url}/kbs/v0/auth`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const json =
    res.status === 200 ? ((await res.clone().json()) as { nonce: string }) : { nonce: '' };
  return { res, cookie, nonce: json.nonce };
}

async function attest(
  k: TestKbs,
  cookie: string,
  nonce: string,
  kp: TeeKeyPair,
  bindNonce = nonce,
): Promise<Response> {
  const rd = { nonce, teePubkey: kp.publicKey };
  const evidence = await sampleEvidenceProvider().getEvidence(
    computeReportData({ ...rd, nonce: bindNonce }, 'sample'),
  );
  return fetch(`${k.url}/kbs/v0/attest`, {
    method: 'POST',
    headers: { cookie },
    body: JSON.stringify({ 'runtime-data': runtimeDataToJson(rd), 'tee-evidence': evidence }),
  });
}

async function expectError(
  res: Response,
  status: number,
  variant: string,
  detail?: RegExp,
): Promise<void> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { type: string; detail: string };
  expect(body.type).toBe(ERR + variant);
  if (detail) expect(body.detail).toMatch(detail);
}

describe('KBS RCAR round trip', () => {
  test('auth, attest with sample evidence and get the resource; the token verifies with the published key', async () => {
    kbs = await startKbs();
    await provision(kbs);
    const client = kbs.client();
    const { token, keyPair } = await client.attest(sampleEvidenceProvider());
    expect(new TextDecoder().decode(await client.getResource('default/key/1'))).toBe('s3cret');

    const jwk = (await (await fetch(`${kbs.url}/kbs/v0/token-key`)).json()) as JWK;
    expect(decodeProtectedHeader(token).jwk).toMatchObject({ x: jwk.x, y: jwk.y });
    const { payload } = await jwtVerify(token, await importJWK(jwk, 'ES256'));
    const cpu0 = (payload['submods'] as Record<string, Record<string, unknown>>)['cpu0'];
    expect(cpu0?.['ear.status']).toBe('affirming');
    expect(cpu0?.['ear.trustworthiness-vector']).toEqual({
      configuration: 2,
      executables: 3,
      hardware: 2,
    });
    expect(payload['eat_profile']).toBe('tag:github.com,2024:confidential-containers/Trustee');

    // Bearer token instead of the cookie; the JWE opens with jose.
    const res = await fetch(`${kbs.url}/kbs/v0/resource/default/key/1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const jwe = parseFlattenedJwe(await res.json());
    const key = await importJWK(await exportJWK(keyPair.privateKey), 'ECDH-ES+A256KW');
    expect(new TextDecoder().decode((await flattenedDecrypt(jwe, key)).plaintext)).toBe('s3cret');
  });

  test('works with an RSA-OAEP-256 TEE key', async () => {
    kbs = await startKbs();
    await provision(kbs);
    const client = kbs.client();
    await client.attest(sampleEvidenceProvider(), { keyKind: 'rsa' });
    expect(new TextDecoder().decode(await client.getResource('default/key/1'))).toBe('s3cret');
  });

  test('a client that did not attest gets 401 TokenNotFound', async () => {
    kbs = await startKbs();
    await provision(kbs);
    await expectError(
      await fetch(`${kbs.url}/kbs/v0/resource/default/key/1`),
      401,
      'TokenNotFound',
    );
    const { cookie } = await auth(kbs);
    await expectError(
      await fetch(`${kbs.url}/kbs/v0/resource/default/key/1`, { headers: { cookie } }),
      401,
      'TokenNotFound',
      /not attested/,
    );
    await expectError(
      await fetch(`${kbs.url}/kbs/v0/resource/default/key/1`, {
        headers: { authorization: 'Bearer a.b.c' },
      }),
      401,
      'TokenVerifierError',
    );
  });

  test('a deny-all resource policy answers 401 PolicyDeny', async () => {
    kbs = await startKbs();
    await provision(kbs, { policy: DENY_ALL });
    const client = kbs.client();
    await client.attest(sampleEvidenceProvider());
    await expect(client.getResource('default/key/1')).rejects.toMatchObject({
      status: 401,
      variant: 'PolicyDeny',
      kind: 'permission_denied',
    });
  });

  test('the default resource policy refuses the sample TEE', async () => {
    kbs = await startKbs();
    expect(
      (await admin(kbs, 'reference-value', { name: 'sample.svn', values: ['1'] })).status,
    ).toBe(200);
    expect((await admin(kbs, 'resource/default/key/1', new Uint8Array([1]))).status).toBe(200);
    const client = kbs.client();
    await client.attest(sampleEvidenceProvider());
    await expect(client.getResource('default/key/1')).rejects.toMatchObject({
      status: 401,
      variant: 'PolicyDeny',
      kind: 'permission_denied',
    });
  });

  test('without the reference value the appraisal is only a warning and nothing is released', async () => {
    kbs = await startKbs();
    await provision(kbs, { svn: false });
    const client = kbs.client();
    const { token } = await client.attest(sampleEvidenceProvider());
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      submods: { cpu0: Record<string, unknown> };
    };
    expect(payload.submods.cpu0['ear.status']).toBe('warning');
    await expect(client.getResource('default/key/1')).rejects.toMatchObject({
      status: 401,
      variant: 'PolicyDeny',
    });
  });

  test('a missing resource is 404 ResourceNotFound once the policy allows', async () => {
    kbs = await startKbs();
    await provision(kbs);
    const client = kbs.client();
    await client.attest(sampleEvidenceProvider());
    await expect(client.getResource('default/key/2')).rejects.toMatchObject({
      status: 404,
      variant: 'ResourceNotFound',
    });
  });

  test('refuses the sample TEE when the KBS does not allow it', async () => {
    kbs = await startKbs({ allowSample: false });
    const { cookie, nonce } = await auth(kbs);
    await expectError(
      await attest(kbs, cookie, nonce, generateTeeKeyPair()),
      401,
      'AttestationError',
      /ERR_AS_UNSUPPORTED_TEE|not accepted/,
    );
  });
});

describe('KBS hostile input', () => {
  test.each([
    ['malformed JSON', '{"version":', 'InvalidRequest', /not valid JSON/],
    [
      'a wrong protocol version',
      { version: '0.1.0', tee: 'sample', 'extra-params': '' },
      'ProtocolVersion',
      /0\.1\.0.*0\.4\.0/,
    ],
    [
      'an unknown member',
      { version: '0.4.0', tee: 'sample', 'extra-params': '', x: 1 },
      'InvalidRequest',
      /request\.x: unknown member/,
    ],
  ])('auth with %s is 401 %s', async (_name, body, variant, detail) => {
    kbs ??= await startKbs();
    await expectError((await auth(kbs, body)).res, 401, variant, detail);
  });

  test('a huge body is 401 PayloadTooLarge and the service stays healthy', async () => {
    kbs = await startKbs();
    const { cookie } = await auth(kbs);
    const res = await fetch(`${kbs.url}/kbs/v0/attest`, {
      method: 'POST',
      headers: { cookie },
      body: 'x'.repeat(2 << 20),
    }).catch(() => undefined);
    if (res) await expectError(res, 401, 'PayloadTooLarge', /larger than/);
    const big = await fetch(`${kbs.url}/kbs/v0/auth`, {
      method: 'POST',
      body: JSON.stringify({ pad: 'y'.repeat(64 << 10) }),
    }).catch(() => undefined);
    if (big) await expectError(big, 401, 'PayloadTooLarge');
    await provision(kbs);
    const client = kbs.client();
    await client.attest(sampleEvidenceProvider());
    expect(await client.getResource('default/key/1')).toHaveLength(6);
  });

  test('a replayed nonce fails', async () => {
    kbs = await startKbs();
    await provision(kbs);
    const kp = generateTeeKeyPair();
    const { cookie, nonce } = await auth(kbs);
    expect((await attest(kbs, cookie, nonce, kp)).status).toBe(200);
    await expectError(
      await attest(kbs, cookie, nonce, kp),
      401,
      'UnAuthenticatedCookie',
      /already used/,
    );
  });

  test('an expired session fails (injected clock)', async () => {
    let now = Date.parse('2026-12-01T12:00:00Z');
    kbs = await startKbs({ now: () => now });
    const { cookie, nonce } = await auth(kbs);
    now += 5 * 60 * 1000 + 1;
    await expectError(await attest(kbs, cookie, nonce, generateTeeKeyPair()), 401, 'ExpiredCookie');
  });

  test('evidence bound to another nonce or another key fails', async () => {
    kbs = await startKbs();
    await provision(kbs);
    const a = await auth(kbs);
    await expectError(
      await attest(kbs, a.cookie, a.nonce, generateTeeKeyPair(), 'another nonce'),
      401,
      'AttestationError',
      /ERR_REPORT_DATA_MISMATCH/,
    );
    // Evidence made for key 1, sent with key 2.
    const b = await auth(kbs);
    const k1 = generateTeeKeyPair();
    const k2 = generateTeeKeyPair();
    const ev = await sampleEvidenceProvider().getEvidence(
      computeReportData({ nonce: b.nonce, teePubkey: k1.publicKey }, 'sample'),
    );
    const res = await fetch(`${kbs.url}/kbs/v0/attest`, {
      method: 'POST',
      headers: { cookie: b.cookie },
      body: JSON.stringify({
        'runtime-data': runtimeDataToJson({ nonce: b.nonce, teePubkey: k2.publicKey }),
        'tee-evidence': ev,
      }),
    });
    await expectError(res, 401, 'AttestationError', /ERR_REPORT_DATA_MISMATCH/);
    // A runtime-data nonce that is not the session's.
    const c = await auth(kbs);
    await expectError(
      await attest(kbs, c.cookie, 'not-the-nonce', k1),
      401,
      'UnAuthenticatedCookie',
      /not the nonce/,
    );
    // The service is still healthy.
    const client = kbs.client();
    await client.attest(sampleEvidenceProvider());
    expect(await client.getResource('default/key/1')).toHaveLength(6);
  });

  test('attest without a session cookie is 401 CookieNotFound', async () => {
    kbs = await startKbs();
    await expectError(await attest(kbs, '', 'n', generateTeeKeyPair()), 401, 'CookieNotFound');
  });

  test.each([
    ['/kbs/v0/nope', 'PluginNotFound'],
    ['/kbs/v0/resource/a/b', 'InvalidRequestPath'],
    ['/kbs/v0/resource/a/../b', 'InvalidRequestPath'],
    ['/other', 'InvalidRequestPath'],
  ])('GET %s is 404 %s', async (path, variant) => {
    kbs ??= await startKbs();
    await expectError(await fetch(`${kbs.url}${path}`), 404, variant);
  });

  test('admin endpoints need a JWT signed by the admin key', async () => {
    kbs = await startKbs();
    const body = JSON.stringify({ policy: Buffer.from(DENY_ALL).toString('base64') });
    await expectError(
      await fetch(`${kbs.url}/kbs/v0/resource-policy`, { method: 'POST', body }),
      401,
      'AdminAuthAccess',
    );
    const other = await startKbs();
    try {
      await expectError(
        await fetch(`${kbs.url}/kbs/v0/resource-policy`, {
          method: 'POST',
          body,
          headers: { authorization: `Bearer ${other.adminToken()}` },
        }),
        401,
        'AdminAuthAccess',
        /bad signature/,
      );
    } finally {
      await other.stop();
    }
    await expectError(
      await admin(kbs, 'resource-policy', {
        policy: Buffer.from('package policy\nallow if {').toString('base64'),
      }),
      401,
      'ParsePolicyError',
    );
  });
});

describe('KBS admin authorization per endpoint', () => {
  test('an admin ACL lets each role reach only its endpoints (401 AdminAuthAccess otherwise)', async () => {
    kbs = await startKbs({
      adminAcl: [
        { role: 'secrets', allowedEndpoints: '^/kbs/v0/resource/default/[^/]+/[^/]+$' },
        { role: 'policy', allowedEndpoints: '^/kbs/v0/(attestation-policy|resource-policy)$' },
      ],
    });
    const k = kbs;
    const post = (path: string, role: string | undefined, body: string | Uint8Array) =>
      fetch(`${k.url}/kbs/v0/${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${signAdminToken(k.adminPrivateKey, { role })}`,
        },
        body,
      });
    const policy = JSON.stringify({ policy: Buffer.from(DENY_ALL).toString('base64') });
    expect((await post('resource/default/key/1', 'secrets', new Uint8Array([1]))).status).toBe(200);
    await expectError(
      await post('resource/other/key/1', 'secrets', new Uint8Array([1])),
      401,
      'AdminAuthAccess',
      /role "secrets" may not use \/kbs\/v0\/resource\/other\/key\/1/,
    );
    await expectError(await post('resource-policy', 'secrets', policy), 401, 'AdminAuthAccess');
    expect((await post('resource-policy', 'policy', policy)).status).toBe(200);
    await expectError(
      await post('resource/default/key/1', 'policy', new Uint8Array(2 << 20)),
      401,
      'AdminAuthAccess',
    );
    await expectError(
      await post('reference-value', undefined, JSON.stringify({ name: 'a', values: ['b'] })),
      401,
      'AdminAuthAccess',
      /no role claim/,
    );
  });
});

describe('KBS persistence', () => {
  test('resources, policies, reference values and the token key survive a restart', async () => {
    kbs = await startKbs();
    await provision(kbs);
    const key1 = (await (await fetch(`${kbs.url}/kbs/v0/token-key`)).json()) as JWK;
    await kbs.close();
    const again = await startKbs({ storeDir: kbs.storeDir });
    try {
      const key2 = (await (await fetch(`${again.url}/kbs/v0/token-key`)).json()) as JWK;
      expect(key2).toEqual(key1);
      const client = again.client();
      await client.attest(sampleEvidenceProvider());
      expect(new TextDecoder().decode(await client.getResource('default/key/1'))).toBe('s3cret');
    } finally {
      await again.stop();
    }
  });
});
