import { afterEach, describe, expect, test } from 'vitest';
import { KeyValue } from '#src/protocol/generated/ttrpc/ttrpc.js';
import { Status } from '#src/protocol/generated/google/rpc/status.js';
import { CcError } from '#src/lib/index.js';
import {
  createTypedClient,
  defineService,
  registerTypedService,
  TtrpcClient,
  TtrpcServer,
} from '#src/protocol/ttrpc/index.js';
import { socketPair } from './socket-pair.js';

const Demo = defineService('demo.v1.Demo', {
  Lookup: { requestType: KeyValue, responseType: Status },
  Missing: { requestType: KeyValue, responseType: Status },
  Watch: { requestType: KeyValue, responseType: KeyValue, streaming: 'server' },
  Collect: { requestType: KeyValue, responseType: Status, streaming: 'client' },
  Chat: { requestType: KeyValue, responseType: KeyValue, streaming: 'bidi' },
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<ReturnType<typeof createTypedClient<typeof Demo.methods>>> {
  const server = new TtrpcServer();
  registerTypedService(server, Demo, {
    Lookup: (req, ctx) => {
      if (req.key === 'absent')
        return Promise.reject(new CcError('not_found', 'ERR_X', `${req.key} not found`));
      return Promise.resolve({
        code: 0,
        message: `${req.key}=${req.value} via ${ctx.method}`,
        details: [],
      });
    },
    Watch: async (stream) => {
      for (let i = 0; i < 3; i++) await stream.send({ key: stream.request.key, value: String(i) });
    },
    Collect: async (stream) => {
      const keys: string[] = [];
      for await (const kv of stream) keys.push(kv.key);
      return { code: keys.length, message: keys.join(','), details: [] };
    },
    Chat: async (stream) => {
      for await (const kv of stream) await stream.send({ key: kv.value, value: kv.key });
    },
  });
  const { a, b, cleanup } = await socketPair();
  cleanups.push(cleanup);
  void server.serve(b);
  const raw = new TtrpcClient(a);
  cleanups.push(() => raw.close());
  return createTypedClient(raw, Demo);
}

describe('typed services', () => {
  test('a unary method takes and returns messages', async () => {
    const demo = await setup();
    expect(await demo.Lookup({ key: 'a', value: '1' })).toEqual({
      code: 0,
      message: 'a=1 via Lookup',
      details: [],
    });
  });

  test('an implementation error arrives with its kind', async () => {
    const demo = await setup();
    await expect(demo.Lookup({ key: 'absent', value: '' })).rejects.toMatchObject({
      kind: 'not_found',
      message: 'absent not found',
    });
  });

  test('a method missing from the implementation answers UNIMPLEMENTED', async () => {
    const demo = await setup();
    await expect(demo.Missing({ key: '', value: '' })).rejects.toMatchObject({
      kind: 'unimplemented',
      message: 'method Missing',
    });
  });

  test('server-streaming yields decoded messages', async () => {
    const demo = await setup();
    const values: string[] = [];
    const s = demo.Watch({ key: 'k', value: '' });
    for await (const kv of s) values.push(`${kv.key}${kv.value}`);
    expect(values).toEqual(['k0', 'k1', 'k2']);
    expect(await s.response).toBeUndefined();
  });

  test('client-streaming sends messages and decodes the final response', async () => {
    const demo = await setup();
    const s = demo.Collect();
    for (const key of ['x', 'y']) await s.send({ key, value: '' });
    await s.closeSend();
    expect(await s.response).toEqual({ code: 2, message: 'x,y', details: [] });
  });

  test('bidi-streaming exchanges messages both ways', async () => {
    const demo = await setup();
    const s = demo.Chat();
    await s.send({ key: 'a', value: 'b' });
    await s.closeSend();
    const got: string[] = [];
    for await (const kv of s) got.push(`${kv.key}:${kv.value}`);
    expect(got).toEqual(['b:a']);
  });

  test('a request that does not decode answers INVALID_ARGUMENT', async () => {
    const server = new TtrpcServer();
    registerTypedService(server, Demo, {
      Lookup: () => Promise.resolve({ code: 0, message: '', details: [] }),
    });
    const { a, b, cleanup } = await socketPair();
    cleanups.push(cleanup);
    void server.serve(b);
    const raw = new TtrpcClient(a);
    cleanups.push(() => raw.close());
    await expect(
      raw.call('demo.v1.Demo', 'Lookup', Uint8Array.of(0x0a, 0x7f)),
    ).rejects.toMatchObject({
      kind: 'invalid_argument',
    });
  });

  test('refuses an implementation naming a method the service lacks', () => {
    const server = new TtrpcServer();
    const impl = { Nope: () => Promise.resolve({}) } as unknown as Parameters<
      typeof registerTypedService
    >[2];
    expect(() => {
      registerTypedService(server, Demo, impl);
    }).toThrow(/Nope is not a method/);
  });
});
