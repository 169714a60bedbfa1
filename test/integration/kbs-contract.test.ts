// The issue #6 acceptance lines and the DESIGN.md §4 wire shapes, checked with raw HTTP against
// `kata-cc kbs serve` on 127.0.0.1 (a child process, as a workload owner runs it).
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeProtectedHeader, flattenedDecrypt, importJWK, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kbsServeMissing, serveKbs, type ServedKbs } from '#test/helpers/kbs-serve.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const ERR = 'https://github.com/confidential-containers/kbs/errors/';
const B64URL = /^[A-Za-z0-9_-]+$/;
const missing = kbsServeMissing();
if (missing) console.log(`skipping kata-cc kbs serve contract tests: ${missing}`);

let kbs: ServedKbs | undefined;
const served = (): ServedKbs => {
  if (!kbs) throw new Error('kbs serve did not start');
  return kbs;
};
beforeAll(async () => {
  if (missing) return;
  kbs = await serveKbs();
  const policy = readFileSync(join(PROJECT_ROOT, 'policies', 'kbs', 'allow-affirming.rego'));
  expect((await admin('resource-policy', { policy: policy.toString('base64') })).status).toBe(200);
  expect((await admin('reference-value', { name: 'sample.svn', values: ['1'] })).status).toBe(200);
  expect((await admin('resource/default/key/1', Buffer.from('s3cret'))).status).toBe(200);
}, 60_000);
afterAll(async () => {
  await kbs?.stop();
});

function admin(path: string, body: unknown): Promise<Response> {
  return fetch(`${served().url}/kbs/v0/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${served().adminToken()}` },
    body: body instanceof Uint8Array ? body : JSON.stringify(body),
  });
}

/** RFC 8785 for the runtime-data object (strings and nested objects only), written independently. */
function jcs(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${jcs(o[k])}`)
    .join(',')}}`;
}

interface Tee {
  readonly privateKey: KeyObject;
  readonly jwk: Record<string, string>;
}

function teeKey(): Tee {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const j = publicKey.export({ format: 'jwk' });
  return {
    privateKey,
    jwk: { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: j.x ?? '', y: j.y ?? '' },
  };
}

async function auth(body: unknown = { version: '0.4.0', tee: 'sample', 'extra-params': '' }) {
  const res = await fetch(`${served().url}/kbs/v0/auth`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const setCookie = res.headers.get('set-cookie') ?? '';
  const json = res.status === 200 ? ((await res.clone().json()) as Record<string, unknown>) : {};
  return {
    res,
    setCookie,
    cookie: setCookie.split(';')[0] ?? '',
    json,
    nonce: String(json['nonce']),
  };
}

/** Sample evidence built by hand: {svn, report_data: base64(SHA-384(JCS(runtime-data)) ‖ 0…)}. */
function sampleEvidence(runtimeData: unknown): unknown {
  const rd = Buffer.alloc(64);
  createHash('sha384').update(jcs(runtimeData)).digest().copy(rd);
  return { svn: '1', report_data: rd.toString('base64') };
}

function attest(cookie: string, runtimeData: unknown, evidence = sampleEvidence(runtimeData)) {
  return fetch(`${served().url}/kbs/v0/attest`, {
    method: 'POST',
    headers: { cookie },
    body: JSON.stringify({ 'runtime-data': runtimeData, 'tee-evidence': evidence }),
  });
}

async function attested(): Promise<{ cookie: string; token: string; tee: Tee }> {
  const a = await auth();
  const tee = teeKey();
  const res = await attest(a.cookie, { nonce: a.nonce, 'tee-pubkey': tee.jwk });
  expect(res.status).toBe(200);
  return { cookie: a.cookie, token: ((await res.json()) as { token: string }).token, tee };
}

async function expectError(res: Response, variant: string, status = 401, detail?: RegExp) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['type', 'detail']);
  expect(body['type']).toBe(ERR + variant);
  if (detail) expect(body['detail']).toMatch(detail);
}

function getResource(headers: Record<string, string>): Promise<Response> {
  return fetch(`${served().url}/kbs/v0/resource/default/key/1`, { headers });
}

describe.skipIf(missing !== undefined)('kata-cc kbs serve: issue #6 contract', () => {
  test('auth → attest → resource in the DESIGN.md §4 shapes; JWE opens with jose; token verifies with the published key', async () => {
    const a = await auth();
    expect(a.res.status).toBe(200);
    expect(Object.keys(a.json)).toEqual(['nonce', 'extra-params']);
    expect(a.json['extra-params']).toBe('');
    expect(Buffer.from(a.nonce, 'base64')).toHaveLength(32);
    expect(a.setCookie).toMatch(/^kbs-session-id=[0-9a-f-]{36}; Max-Age=300; Path=\/kbs\/v0;/);

    const tee = teeKey();
    const res = await attest(a.cookie, { nonce: a.nonce, 'tee-pubkey': tee.jwk });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, string>;
    expect(Object.keys(body)).toEqual(['token']);
    const token = body['token'] ?? '';
    const header = decodeProtectedHeader(token);
    expect(header.alg).toBe('ES256');
    const published = (await (await fetch(`${served().url}/kbs/v0/token-key`)).json()) as JWK;
    expect(header.jwk).toMatchObject({ kty: 'EC', crv: 'P-256', x: published.x, y: published.y });
    const { payload } = await jwtVerify(token, await importJWK(published, 'ES256'));
    const cpu0 = (payload['submods'] as Record<string, Record<string, unknown>>)['cpu0'] ?? {};
    expect(cpu0['ear.status']).toBe('affirming');
    const ev = cpu0['ear.veraison.annotated-evidence'] as Record<string, unknown>;
    expect(ev['runtime_data_claims']).toEqual({ nonce: a.nonce, 'tee-pubkey': tee.jwk });

    for (const headers of [{ cookie: a.cookie }, { authorization: `Bearer ${token}` }]) {
      const r = await getResource(headers);
      expect(r.status).toBe(200);
      const jwe = (await r.json()) as Record<string, string>;
      expect(Object.keys(jwe).sort()).toEqual(
        ['ciphertext', 'encrypted_key', 'iv', 'protected', 'tag'].sort(),
      );
      for (const v of Object.values(jwe)) expect(v).toMatch(B64URL);
      expect(Buffer.from(jwe['protected'] ?? '', 'base64url').toString()).toMatch(
        /^\{"alg":"ECDH-ES\+A256KW","enc":"A256GCM","epk":\{"crv":"P-256","kty":"EC","x":"[\w-]+","y":"[\w-]+"\}\}$/,
      );
      const key = await importJWK(tee.privateKey.export({ format: 'jwk' }), 'ECDH-ES+A256KW');
      const opened = await flattenedDecrypt(
        jwe as unknown as Parameters<typeof flattenedDecrypt>[0],
        key,
      );
      expect(Buffer.from(opened.plaintext).toString()).toBe('s3cret');
    }
  });

  test('init-data in the attest request is bound to the evidence and surfaced as init_data_claims', async () => {
    const toml = 'version = "0.1.0"\nalgorithm = "sha256"\n\n[data]\n"aa.toml" = "x = 1"\n';
    const digest = createHash('sha256').update(toml).digest();
    const send = async (evidenceDigest: Buffer): Promise<Response> => {
      const a = await auth();
      const rd = { nonce: a.nonce, 'tee-pubkey': teeKey().jwk };
      const ev = {
        ...(sampleEvidence(rd) as object),
        init_data: evidenceDigest.toString('base64'),
      };
      return fetch(`${served().url}/kbs/v0/attest`, {
        method: 'POST',
        headers: { cookie: a.cookie },
        body: JSON.stringify({
          'init-data': { format: 'toml', body: toml },
          'runtime-data': rd,
          'tee-evidence': ev,
        }),
      });
    };
    const ok = await send(digest);
    expect(ok.status).toBe(200);
    const token = ((await ok.json()) as { token: string }).token;
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      submods: { cpu0: { 'ear.veraison.annotated-evidence': Record<string, unknown> } };
    };
    const ev = payload.submods.cpu0['ear.veraison.annotated-evidence'];
    expect(ev['init_data']).toBe(digest.toString('hex'));
    expect(ev['init_data_claims']).toMatchObject({ version: '0.1.0', algorithm: 'sha256' });
    await expectError(
      await send(createHash('sha256').update('other').digest()),
      'AttestationError',
      401,
      /ERR_INIT_DATA_MISMATCH/,
    );
  });

  test('a second client without attestation gets 401; a deny-all resource policy gets 401 PolicyDeny', async () => {
    await expectError(await getResource({}), 'TokenNotFound');
    const { cookie: fresh } = await auth();
    await expectError(await getResource({ cookie: fresh }), 'TokenNotFound', 401, /not attested/);
    const { cookie, token } = await attested();
    const deny = Buffer.from('package policy\n\ndefault allow := false\n').toString('base64');
    expect((await admin('resource-policy', { policy: deny })).status).toBe(200);
    try {
      await expectError(await getResource({ cookie }), 'PolicyDeny', 401, /denied by policy/);
      await expectError(await getResource({ authorization: `Bearer ${token}` }), 'PolicyDeny');
    } finally {
      const allow = readFileSync(join(PROJECT_ROOT, 'policies', 'kbs', 'allow-affirming.rego'));
      expect((await admin('resource-policy', { policy: allow.toString('base64') })).status).toBe(
        200,
      );
    }
  });

  test('bad input gets the right status and message and leaves the service healthy', async () => {
    // Malformed JSON, wrong protocol version, unknown TEE.
    await expectError((await auth('{"version":')).res, 'InvalidRequest', 401, /not valid JSON/);
    await expectError(
      (await auth({ version: '0.3.0', tee: 'sample', 'extra-params': '' })).res,
      'ProtocolVersion',
      401,
      /0\.3\.0/,
    );
    const a = await auth();
    const bad = await fetch(`${served().url}/kbs/v0/attest`, {
      method: 'POST',
      headers: { cookie: a.cookie },
      body: '[1,',
    });
    await expectError(bad, 'InvalidRequest', 401, /attest: body is not valid JSON/);
    // Huge bodies: refused before they are buffered (the connection may be closed early).
    for (const [path, size] of [
      ['auth', 64 << 10],
      ['attest', 2 << 20],
      ['resource-policy', 1 << 20],
    ] as const) {
      const r = await fetch(`${served().url}/kbs/v0/${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${served().adminToken()}` },
        body: 'x'.repeat(size),
      }).catch(() => undefined);
      if (r) await expectError(r, 'PayloadTooLarge', 401, /larger than/);
    }
    // Replayed nonce, forged cookie.
    const b = await auth();
    const tee = teeKey();
    const rd = { nonce: b.nonce, 'tee-pubkey': tee.jwk };
    expect((await attest(b.cookie, rd)).status).toBe(200);
    await expectError(await attest(b.cookie, rd), 'UnAuthenticatedCookie', 401, /already used/);
    await expectError(
      await attest('kbs-session-id=00000000-0000-4000-8000-000000000000', rd),
      'CookieNotFound',
    );
    // Evidence bound to another nonce, or to another key.
    const c = await auth();
    const other = { nonce: 'another nonce', 'tee-pubkey': tee.jwk };
    await expectError(
      await attest(c.cookie, { nonce: c.nonce, 'tee-pubkey': tee.jwk }, sampleEvidence(other)),
      'AttestationError',
      401,
      /ERR_REPORT_DATA_MISMATCH/,
    );
    const d = await auth();
    await expectError(
      await attest(
        d.cookie,
        { nonce: d.nonce, 'tee-pubkey': teeKey().jwk },
        sampleEvidence({ nonce: d.nonce, 'tee-pubkey': tee.jwk }),
      ),
      'AttestationError',
      401,
      /ERR_REPORT_DATA_MISMATCH/,
    );
    // Bad path and unknown plugin are the only 404s.
    await expectError(await fetch(`${served().url}/kbs/v0/nope`), 'PluginNotFound', 404);
    await expectError(
      await fetch(`${served().url}/kbs/v0/resource/a/b`),
      'InvalidRequestPath',
      404,
    );
    // Still healthy: the process runs and a full round trip works.
    expect(served().child.exitCode).toBeNull();
    const ok = await attested();
    expect((await getResource({ cookie: ok.cookie })).status).toBe(200);
  });
});
