import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createCdhUnsealer, unsealEnv } from '#guest/agent/index.js';
import { createSampleAttester } from '#guest/attester/index.js';
import { NULL_LOGGER } from '#src/lib/index.js';
import {
  sealA256Gcm,
  startGuestComponents,
  type RunningGuestComponents,
} from '#guest/cdh/index.js';
import {
  aaService,
  getResourceService,
  sealedSecretService,
  cdhKeyProviderService,
} from '#src/protocol/cdh/index.js';
import { TtrpcClient, createTypedClient } from '#src/protocol/ttrpc/index.js';
import { connectUnix } from '#src/protocol/transport/index.js';
import { encodeKeyUnwrapRequest, parseKeyUnwrapResponse } from '#src/oci/index.js';
import type { TestKbs } from '#test/helpers/kbs.js';
import { tmpdir } from '#test/helpers/tmpdir.js';
import {
  DENY_ALL,
  putResource,
  setResourcePolicy,
  startSampleKbs,
} from '#test/unit/guest/kbs-client/kbs-fixture.js';

const INITDATA =
  'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"aa.toml" = """\n[token_configs.kbs]\nurl = "http://127.0.0.1:1"\n"""\n';
const digestOf = (t: string): Uint8Array => new Uint8Array(createHash('sha256').update(t).digest());
const b64url = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('guest components against the KBS (sample attester)', () => {
  let kbs: TestKbs;
  let dir: ReturnType<typeof tmpdir>;
  const running: RunningGuestComponents[] = [];
  const clients: TtrpcClient[] = [];
  const sealingKey = new Uint8Array(32).fill(7);

  beforeAll(async () => {
    kbs = await startSampleKbs();
    await putResource(kbs, 'default/key/one', 'resource-one');
    await putResource(kbs, 'default/sealed/value', 'vault-secret');
    await putResource(kbs, 'default/sealing/key', sealingKey);
    dir = tmpdir();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const r of running.splice(0)) await r.close();
  });
  afterAll(async () => {
    await kbs.stop();
    dir.remove();
  });

  let n = 0;
  async function start(
    opts: { initDataDigest?: Uint8Array; initToml?: string } = {},
  ): Promise<RunningGuestComponents> {
    n++;
    const attester = createSampleAttester({ initDataDigest: opts.initDataDigest });
    const gc = await startGuestComponents({
      attester,
      kbsUrl: kbs.url,
      initData:
        opts.initToml === undefined
          ? undefined
          : { toml: opts.initToml, digest: digestOf(opts.initToml) },
      aaSocket: join(dir.path, `aa-${String(n)}.sock`),
      cdhSocket: join(dir.path, `cdh-${String(n)}.sock`),
      rest: { host: '127.0.0.1', port: 0 },
      eventLog: { path: join(dir.path, `eventlog-${String(n)}`) },
    });
    running.push(gc);
    return gc;
  }
  async function client(path: string): Promise<TtrpcClient> {
    const c = new TtrpcClient(await connectUnix(path));
    clients.push(c);
    return c;
  }
  const rest = (gc: RunningGuestComponents, path: string): Promise<Response> =>
    fetch(`http://127.0.0.1:${String(gc.rest?.port)}${path}`);

  test('fetches a KBS resource through the CDH ttrpc GetResource', async () => {
    const gc = await start({ initToml: INITDATA, initDataDigest: digestOf(INITDATA) });
    const cdh = createTypedClient(await client(gc.cdhSocket), getResourceService);
    const r = await cdh.GetResource({ ResourcePath: 'kbs:///default/key/one' });
    expect(Buffer.from(r.Resource).toString()).toBe('resource-one');
  });

  test('serves resource, token and evidence through the REST API', async () => {
    const gc = await start();
    const res = await rest(gc, '/cdh/resource/default/key/one');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('resource-one');
    const tok = (await (await rest(gc, '/aa/token?token_type=kbs')).json()) as { token: string };
    expect(tok.token.split('.')).toHaveLength(3);
    const ev = (await (await rest(gc, '/aa/evidence?runtime_data=hello')).json()) as {
      report_data: string;
    };
    expect(Buffer.from(ev.report_data, 'base64').subarray(0, 5).toString()).toBe('hello');
    expect((await rest(gc, '/cdh/other')).status).toBe(404);
    expect((await rest(gc, '/cdh/resource/default/key')).status).toBe(400);
  });

  test('answers the attestation agent API over ttrpc', async () => {
    const gc = await start();
    const aa = createTypedClient(await client(gc.aaSocket), aaService);
    expect((await aa.GetTeeType({})).tee).toBe('sample');
    const ev = JSON.parse(
      Buffer.from((await aa.GetEvidence({ RuntimeData: Buffer.from('abc') })).Evidence).toString(),
    ) as { svn: string };
    expect(ev.svn).toBe('1');
    const tok = JSON.parse(
      Buffer.from((await aa.GetToken({ TokenType: 'kbs' })).Token).toString(),
    ) as { token: string };
    expect(tok.token.length).toBeGreaterThan(20);
    await aa.ExtendRuntimeMeasurement({
      Domain: 'test',
      Operation: 'op',
      Content: 'x',
      RegisterIndex: undefined,
    });
    const aael = readFileSync(join(dir.path, `eventlog-${String(n)}`), 'utf8');
    expect(aael).toMatch(/^INIT sha256\/0{64}\ntest op x\n$/);
    await expect(
      aa.ExtendRuntimeMeasurement({
        Domain: 'a b',
        Operation: 'op',
        Content: '',
        RegisterIndex: undefined,
      }),
    ).rejects.toMatchObject({ kind: 'invalid_argument' });
    await expect(aa.GetToken({ TokenType: 'coco_as' })).rejects.toMatchObject({
      kind: 'invalid_argument',
    });
    await expect(aa.GetAdditionalEvidence({ RuntimeData: Buffer.from('') })).rejects.toMatchObject({
      kind: 'unimplemented',
    });
  });

  test('unseals vault and envelope sealed secrets', async () => {
    const gc = await start();
    const ss = createTypedClient(await client(gc.cdhSocket), sealedSecretService);
    const vault = `sealed.fakejwsheader.${b64url({ version: '0.1.0', type: 'vault', name: 'kbs:///default/sealed/value', provider: 'kbs', provider_settings: {}, annotations: {} })}.fakesignature`;
    expect(
      Buffer.from((await ss.UnsealSecret({ secret: Buffer.from(vault) })).plaintext).toString(),
    ).toBe('vault-secret');
    const dataKey = new Uint8Array(32).fill(3);
    const wrapped = sealA256Gcm(sealingKey, dataKey);
    const data = sealA256Gcm(dataKey, new Uint8Array(Buffer.from('envelope-secret')));
    const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
    const envelope = `sealed.fakejwsheader.${b64url({ version: '0.1.0', type: 'envelope', provider: 'kbs', key_id: 'kbs:///default/sealing/key', encrypted_key: b64(wrapped.sealed), encrypted_data: b64(data.sealed), wrap_type: 'A256GCM', iv: b64(data.iv), provider_settings: {}, annotations: { iv: b64(wrapped.iv) } })}.fakesignature`;
    expect(
      Buffer.from((await ss.UnsealSecret({ secret: Buffer.from(envelope) })).plaintext).toString(),
    ).toBe('envelope-secret');
    await expect(ss.UnsealSecret({ secret: Buffer.from('sealed.x.y') })).rejects.toMatchObject({
      kind: 'invalid_argument',
    });
  });

  test("the agent's CDH unsealer turns a sealed env value into the KBS resource", async () => {
    const gc = await start();
    const unsealer = createCdhUnsealer({ socketPath: gc.cdhSocket, log: NULL_LOGGER });
    const vault = `sealed.fakejwsheader.${b64url({ version: '0.1.0', type: 'vault', name: 'kbs:///default/sealed/value', provider: 'kbs', provider_settings: {}, annotations: {} })}.fakesignature`;
    expect(await unsealEnv(['A=1', `S=${vault}`], unsealer)).toEqual(['A=1', 'S=vault-secret']);
    const missing = `sealed.fakejwsheader.${b64url({ version: '0.1.0', type: 'vault', name: 'kbs:///default/sealed/none', provider: 'kbs', provider_settings: {}, annotations: {} })}.fakesignature`;
    await expect(unsealEnv([`S=${missing}`], unsealer)).rejects.toMatchObject({
      code: 'ERR_AGENT_SEALED_SECRET',
      message: expect.stringContaining('cannot unseal environment variable S') as unknown,
    });
  });

  test('unwraps an image key through the keyprovider UnWrapKey', async () => {
    const gc = await start();
    const kp = createTypedClient(await client(gc.cdhSocket), cdhKeyProviderService);
    const opts = new Uint8Array(Buffer.from('{"symkey":"abc"}'));
    const w = sealA256Gcm(sealingKey, opts);
    const packet = {
      kid: 'kbs:///default/sealing/key',
      wrapped_data: Buffer.from(w.sealed).toString('base64'),
      iv: [...w.iv],
      wrap_type: 'A256GCM',
    };
    const input = Buffer.from(
      encodeKeyUnwrapRequest(new Uint8Array(Buffer.from(JSON.stringify(packet)))),
    );
    const out = await kp.UnWrapKey({ KeyProviderKeyWrapProtocolInput: input });
    expect(
      new Uint8Array(
        parseKeyUnwrapResponse(Buffer.from(out.KeyProviderKeyWrapProtocolOutput).toString()),
      ),
    ).toEqual(opts);
  });

  test('refuses attestation when the initdata digest does not match the TEE report', async () => {
    const gc = await start({ initToml: INITDATA, initDataDigest: digestOf('other initdata') });
    const cdh = createTypedClient(await client(gc.cdhSocket), getResourceService);
    await expect(cdh.GetResource({ ResourcePath: 'kbs:///default/key/one' })).rejects.toMatchObject(
      {
        kind: 'permission_denied',
        message: expect.stringContaining('initdata digest does not match') as unknown,
      },
    );
    expect((await rest(gc, '/aa/token?token_type=kbs')).status).toBe(403);
  });

  test('sends init-data to the KBS', async () => {
    const seen: unknown[] = [];
    const svc = kbs.service as unknown as {
      attest: (req: { initData?: unknown }) => Promise<unknown>;
    };
    const orig = svc.attest.bind(svc);
    svc.attest = (req) => {
      seen.push(req.initData);
      return orig(req);
    };
    try {
      const gc = await start({ initToml: INITDATA, initDataDigest: digestOf(INITDATA) });
      await gc.aa.getToken('kbs');
    } finally {
      svc.attest = orig;
    }
    expect(seen).toEqual([{ format: 'toml', body: INITDATA }]);
  });

  test('answers a clear denial under a deny-all resource policy', async () => {
    const strict = await startSampleKbs();
    try {
      await putResource(strict, 'default/key/one', 'x');
      await setResourcePolicy(strict, DENY_ALL);
      const gc = await startGuestComponents({
        attester: createSampleAttester(),
        kbsUrl: strict.url,
        aaSocket: join(dir.path, 'aa-d.sock'),
        cdhSocket: join(dir.path, 'cdh-d.sock'),
        rest: { host: '127.0.0.1', port: 0 },
      });
      running.push(gc);
      const cdh = createTypedClient(await client(gc.cdhSocket), getResourceService);
      await expect(
        cdh.GetResource({ ResourcePath: 'kbs:///default/key/one' }),
      ).rejects.toMatchObject({
        kind: 'permission_denied',
        message: expect.stringContaining('denied by the kbs resource policy') as unknown,
      });
      expect((await rest(gc, '/cdh/resource/default/key/one')).status).toBe(403);
    } finally {
      await strict.stop();
    }
  });
});
