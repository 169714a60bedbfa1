import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CcError } from '#src/lib/index.js';
import {
  CONTAINERD_NAMESPACE_KEY,
  createTypedClient,
  registerTypedService,
  TtrpcClient,
  TtrpcServer,
} from '#src/protocol/ttrpc/index.js';
import type { TypedClient } from '#src/protocol/ttrpc/index.js';
import {
  buildGoTtrpcPeer,
  INTEROP_SERVICE,
  msg,
  runGoPeer,
  startGoServer,
} from '#test/helpers/go-ttrpc.js';
import type { GoPeerBuild, GoServer } from '#test/helpers/go-ttrpc.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

// Debian 12 ships containerd/ttrpc 1.1.1, which predates streaming (ttrpc 1.2): interop covers the
// unary protocol, envelopes, metadata, deadlines and status codes. Streaming is tested against our
// own peer and PROTOCOL.md in the unit tests.

let build: GoPeerBuild = { skipReason: 'not built yet' };
const dir = tmpdir('kata-cc-go-ttrpc-');

beforeAll(async () => {
  build = await buildGoTtrpcPeer(PROJECT_ROOT);
  if ('skipReason' in build) console.log(`go ttrpc interop skipped: ${build.skipReason}`);
}, 300_000);

afterAll(() => {
  dir.remove();
});

function binary(): string {
  if (!('binary' in build)) throw new Error(build.skipReason);
  return build.binary;
}

describe('Go client → our server', () => {
  let server: TtrpcServer;
  const socket = join(dir.path, 'ours.sock');

  beforeAll(async () => {
    server = new TtrpcServer();
    registerTypedService(server, INTEROP_SERVICE, {
      Echo: (req, ctx) => {
        const ns = ctx.metadata.get(CONTAINERD_NAMESPACE_KEY)?.[0];
        return Promise.resolve(
          msg({ text: ns === undefined ? req.text : `${req.text}@${ns}`, blob: req.blob }),
        );
      },
      Fail: (req) =>
        Promise.reject(
          new CcError(req.code === 5 ? 'not_found' : 'permission_denied', 'ERR_TEST', req.text),
        ),
      Deadline: (_req, ctx) =>
        Promise.resolve(
          msg({ number: ctx.deadline === undefined ? -1 : Math.floor(ctx.deadline - Date.now()) }),
        ),
    });
    await server.listen(socket);
  });

  afterAll(async () => {
    await server.close({ graceMs: 500 });
  });

  test('answers every case as the Go server does', async (ctx) => {
    if ('skipReason' in build) ctx.skip();
    const results = await runGoPeer(binary(), ['client', socket]);
    const byCase = Object.fromEntries(results.map((r) => [r['case'], r]));
    expect(byCase['echo']).toEqual({ case: 'echo', text: 'hello from go', code: 0 });
    expect(byCase['echo-large']).toEqual({ case: 'echo-large', blob_len: 1 << 20, code: 0 });
    expect(byCase['echo-namespace']).toEqual({
      case: 'echo-namespace',
      text: 'ns@k8s.io',
      code: 0,
    });
    expect(byCase['fail-not-found']).toEqual({
      case: 'fail-not-found',
      code: 5,
      message: 'no such thing',
    });
    expect(byCase['fail-permission']).toEqual({
      case: 'fail-permission',
      code: 7,
      message: 'blocked by policy',
    });
    expect(byCase['unknown-method']).toEqual({
      case: 'unknown-method',
      code: 12,
      message: 'method Nope',
    });
    expect(byCase['unknown-service']).toEqual({
      case: 'unknown-service',
      code: 12,
      message: 'service kata.test.Missing',
    });
    expect(byCase['deadline']?.['code']).toBe(0);
    expect(byCase['deadline']?.['number']).toBeGreaterThan(4000);
    expect(byCase['deadline']?.['number']).toBeLessThanOrEqual(5000);
  });
});

describe('our client → Go server', () => {
  let go: GoServer | undefined;
  let raw: TtrpcClient;
  let client: TypedClient<typeof INTEROP_SERVICE.methods>;

  beforeAll(async () => {
    if ('skipReason' in build) return;
    go = await startGoServer(binary(), join(dir.path, 'go.sock'));
    const sock = connect(go.socket);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    raw = new TtrpcClient(sock);
    client = createTypedClient(raw, INTEROP_SERVICE);
  });

  afterAll(async () => {
    if ('skipReason' in build) return;
    await raw.close();
    await go?.stop();
  });

  test('a unary call round-trips, metadata included', async (ctx) => {
    if ('skipReason' in build) ctx.skip();
    expect((await client.Echo(msg({ text: 'from ts' }))).text).toBe('from ts');
    const withNs = await client.Echo(msg({ text: 'ns' }), {
      metadata: { [CONTAINERD_NAMESPACE_KEY]: 'default' },
    });
    expect(withNs).toMatchObject({ text: 'ns@default', code: 1 });
  });

  test('a 1 MiB payload and 100 concurrent calls work on one connection', async (ctx) => {
    if ('skipReason' in build) ctx.skip();
    expect((await client.Echo(msg({ blob: new Uint8Array(1 << 20).fill(7) }))).blob).toHaveLength(
      1 << 20,
    );
    const outs = await Promise.all(
      Array.from({ length: 100 }, (_, i) => client.Echo(msg({ text: `c${i}` }))),
    );
    expect(outs.map((o) => o.text)).toEqual(Array.from({ length: 100 }, (_, i) => `c${i}`));
  });

  test.for([
    [5, 'not_found'],
    [7, 'permission_denied'],
    [9, 'failed_precondition'],
    [14, 'unavailable'],
    [2, 'internal'],
  ] as const)('a Go status %i arrives as kind %s with its message', async ([code, kind], ctx) => {
    if ('skipReason' in build) ctx.skip();
    await expect(client.Fail(msg({ code, text: `go says ${code}` }))).rejects.toMatchObject({
      kind,
      grpcCode: code,
      message: `go says ${code}`,
    });
  });

  test('unknown service and method answer UNIMPLEMENTED with upstream messages', async (ctx) => {
    if ('skipReason' in build) ctx.skip();
    await expect(raw.call('kata.test.Interop', 'Nope', new Uint8Array())).rejects.toMatchObject({
      kind: 'unimplemented',
      message: 'method Nope',
    });
    await expect(raw.call('kata.test.Missing', 'Echo', new Uint8Array())).rejects.toMatchObject({
      kind: 'unimplemented',
      message: 'service kata.test.Missing',
    });
  });

  test('timeoutMs reaches the Go handler as its context deadline', async (ctx) => {
    if ('skipReason' in build) ctx.skip();
    const out = await client.Deadline(msg({}), { timeoutMs: 3000 });
    expect(out.number).toBeGreaterThan(2000);
    expect(out.number).toBeLessThanOrEqual(3000);
    const none = await client.Deadline(msg({}));
    expect(none.number).toBe(-1);
  });

  test('an oversized request is refused locally with resource_exhausted', async (ctx) => {
    if ('skipReason' in build) ctx.skip();
    await expect(client.Echo(msg({ blob: new Uint8Array(4 << 20) }))).rejects.toMatchObject({
      kind: 'resource_exhausted',
    });
    expect((await client.Echo(msg({ text: 'still fine' }))).text).toBe('still fine');
  });
});
