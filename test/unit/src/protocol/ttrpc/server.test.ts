import { readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { Request, Response } from '#src/protocol/generated/ttrpc/ttrpc.js';
import { CcError, JsonLogger, MemorySink, sleep } from '#src/lib/index.js';
import {
  CONTAINERD_NAMESPACE_KEY,
  DATA_FLAG,
  encodeFrame,
  FRAME_TYPE,
  FrameDecoder,
  TtrpcClient,
  TtrpcServer,
} from '#src/protocol/ttrpc/index.js';
import type { CallContext, Frame } from '#src/protocol/ttrpc/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';
import { socketPair } from './socket-pair.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function echoServer(): TtrpcServer {
  const server = new TtrpcServer();
  server.register('test.Echo', {
    Echo: (p) => Promise.resolve(p),
    Fail: () => Promise.reject(new CcError('not_found', 'ERR_TEST', 'thing t1 not found')),
    Crash: () => Promise.reject(new Error('secret detail')),
  });
  return server;
}

async function connected(server: TtrpcServer): Promise<TtrpcClient> {
  const { a, b, cleanup } = await socketPair();
  cleanups.push(cleanup);
  void server.serve(b);
  const client = new TtrpcClient(a);
  cleanups.push(() => client.close());
  return client;
}

/** A raw client socket served by `server`, with a frame reader. */
async function rawClient(
  server: TtrpcServer,
): Promise<{ sock: Socket; next: () => Promise<Frame> }> {
  const { a, b, cleanup } = await socketPair();
  cleanups.push(cleanup);
  void server.serve(b);
  const decoder = new FrameDecoder();
  const queue: Frame[] = [];
  let wake: (() => void) | undefined;
  a.on('data', (c: Buffer) => {
    queue.push(...decoder.push(c));
    wake?.();
  });
  return {
    sock: a,
    next: async () => {
      while (queue.length === 0)
        await new Promise<void>((r) => {
          wake = r;
        });
      return queue.shift() as Frame;
    },
  };
}

function request(streamId: number, service: string, method: string, flags = 0): Buffer {
  const body = Request.encode({
    service,
    method,
    payload: Buffer.from('x'),
    timeout_nano: 0,
    metadata: [],
  }).finish();
  return encodeFrame({ streamId, type: 'request', flags, payload: body });
}

function statusOf(f: Frame): { code: number; message: string } {
  const s = Response.decode(f.payload).status;
  return { code: s?.code ?? 0, message: s?.message ?? '' };
}

describe('TtrpcServer', () => {
  test('answers a unary call with the handler result', async () => {
    const client = await connected(echoServer());
    expect(Buffer.from(await client.call('test.Echo', 'Echo', Buffer.from('hi'))).toString()).toBe(
      'hi',
    );
  });

  test('sends a thrown CcError as the status of its kind with its message', async () => {
    const client = await connected(echoServer());
    await expect(client.call('test.Echo', 'Fail', new Uint8Array())).rejects.toMatchObject({
      kind: 'not_found',
      grpcCode: 5,
      message: 'thing t1 not found',
    });
  });

  test('sends INTERNAL with a generic message for a non-CcError and logs the detail', async () => {
    const sink = new MemorySink();
    const server = new TtrpcServer({ logger: new JsonLogger({ sink }) });
    server.register('s.S', {
      Crash: () => Promise.reject(new Error('secret detail')),
    });
    const client = await connected(server);
    const err: unknown = await client
      .call('s.S', 'Crash', new Uint8Array())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'internal', grpcCode: 13, message: 'internal error' });
    expect(sink.lines.join('\n')).toContain('secret detail');
  });

  test.each([
    ['no.Such', 'Echo', 'service no.Such'],
    ['test.Echo', 'Nope', 'method Nope'],
  ])('answers UNIMPLEMENTED for %s/%s like upstream', async (service, method, message) => {
    const client = await connected(echoServer());
    await expect(client.call(service, method, new Uint8Array())).rejects.toMatchObject({
      kind: 'unimplemented',
      grpcCode: 12,
      message,
    });
  });

  test('passes metadata and a deadline signal from timeout_nano to the handler', async () => {
    const server = new TtrpcServer();
    let seen: CallContext | undefined;
    server.register('s.S', {
      Wait: async (_p, ctx) => {
        seen = ctx;
        await new Promise<void>((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            resolve();
          });
        });
        return Buffer.from((ctx.signal.reason as Error).name);
      },
    });
    const { sock, next } = await rawClient(server);
    const body = Request.encode({
      service: 's.S',
      method: 'Wait',
      payload: Buffer.alloc(0),
      timeout_nano: 50_000_000,
      metadata: [{ key: CONTAINERD_NAMESPACE_KEY, value: 'default' }],
    }).finish();
    sock.write(encodeFrame({ streamId: 1, type: 'request', flags: 0, payload: body }));
    const res = Response.decode((await next()).payload);
    expect(Buffer.from(res.payload).toString()).toBe('TimeoutError');
    expect(seen?.metadata.get(CONTAINERD_NAMESPACE_KEY)).toEqual(['default']);
    expect(seen?.service).toBe('s.S');
    expect(seen?.method).toBe('Wait');
  });

  test.each([[2, 'StreamID must be odd for client initiated streams']])(
    'rejects a request on even stream id %i with INVALID_ARGUMENT',
    async (id, message) => {
      const { sock, next } = await rawClient(echoServer());
      sock.write(request(id, 'test.Echo', 'Echo'));
      const f = await next();
      expect(f.streamId).toBe(id);
      expect(statusOf(f)).toEqual({ code: 3, message });
    },
  );

  test('rejects a re-used stream id and a data frame on an unknown stream, and keeps serving', async () => {
    const { sock, next } = await rawClient(echoServer());
    sock.write(request(5, 'test.Echo', 'Echo'));
    expect(statusOf(await next()).code).toBe(0);
    sock.write(request(3, 'test.Echo', 'Echo'));
    expect(statusOf(await next())).toEqual({
      code: 3,
      message: 'StreamID cannot be re-used and must increment',
    });
    sock.write(encodeFrame({ streamId: 9, type: 'data', flags: 5, payload: new Uint8Array() }));
    expect(statusOf(await next())).toEqual({ code: 3, message: 'StreamID is no longer active' });
    sock.write(encodeFrame({ streamId: 11, type: 200, flags: 0, payload: Buffer.from('future') }));
    sock.write(request(13, 'test.Echo', 'Echo'));
    const f = await next();
    expect(f.streamId).toBe(13);
    expect(Buffer.from(Response.decode(f.payload).payload).toString()).toBe('x');
  });

  test('answers a malformed request envelope with INVALID_ARGUMENT', async () => {
    const { sock, next } = await rawClient(echoServer());
    sock.write(
      encodeFrame({ streamId: 1, type: 'request', flags: 0, payload: Buffer.from([0x0a, 0xff]) }),
    );
    const st = statusOf(await next());
    expect(st.code).toBe(3);
    expect(st.message).toMatch(/^unmarshal request error/);
  });

  test('answers an oversized frame with RESOURCE_EXHAUSTED on its stream and keeps the connection', async () => {
    const { sock, next } = await rawClient(echoServer());
    const header = Buffer.alloc(10);
    header.writeUInt32BE((4 << 20) + 10, 0);
    header.writeUInt32BE(1, 4);
    header[8] = FRAME_TYPE.request;
    sock.write(header);
    sock.write(Buffer.alloc((4 << 20) + 10));
    const f = await next();
    expect(f.streamId).toBe(1);
    expect(statusOf(f)).toEqual({
      code: 8,
      message: `message length ${(4 << 20) + 10} exceed maximum message size of ${4 << 20}`,
    });
    sock.write(request(3, 'test.Echo', 'Echo'));
    expect(statusOf(await next()).code).toBe(0);
  });

  test('answers RESOURCE_EXHAUSTED when a handler returns more than 4 MiB', async () => {
    const server = new TtrpcServer();
    server.register('s.S', { Big: () => Promise.resolve(new Uint8Array((4 << 20) + 1)) });
    const client = await connected(server);
    await expect(client.call('s.S', 'Big', new Uint8Array())).rejects.toMatchObject({
      kind: 'resource_exhausted',
    });
  });

  test('refuses a duplicate service registration', () => {
    const server = echoServer();
    expect(() => {
      server.register('test.Echo', {});
    }).toThrow(expect.objectContaining({ kind: 'already_exists' }));
  });

  test('aborts running handlers when the connection is lost', async () => {
    const server = new TtrpcServer();
    let aborted: Promise<unknown> | undefined;
    server.register('s.S', {
      Hang: (_p, ctx) => {
        aborted = new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            resolve(ctx.signal.reason);
          });
        });
        return aborted.then(() => Promise.reject(new Error('handler saw the abort')));
      },
    });
    const { a, b, cleanup } = await socketPair();
    cleanups.push(cleanup);
    const served = server.serve(b);
    const client = new TtrpcClient(a);
    const call = client.call('s.S', 'Hang', new Uint8Array()).catch((e: unknown) => e);
    while (!aborted) await sleep(5);
    await client.close();
    expect(await aborted).toMatchObject({ kind: 'unavailable' });
    expect(await call).toMatchObject({ kind: 'unavailable' });
    await served;
  });
});

describe('TtrpcServer streaming', () => {
  function streamingServer(): TtrpcServer {
    const server = new TtrpcServer({ maxBufferedPerStream: 4 });
    server.register('s.Stream', {
      Count: {
        streaming: 'server',
        handler: async (stream) => {
          const n = Number(Buffer.from(stream.payload).toString());
          for (let i = 0; i < n; i++) await stream.send(Buffer.from(String(i)));
          return undefined;
        },
      },
      Sum: {
        streaming: 'client',
        handler: async (stream) => {
          let total = 0;
          for await (const m of stream) total += Number(Buffer.from(m).toString());
          return Buffer.from(String(total));
        },
      },
      Chat: {
        streaming: 'bidi',
        handler: async (stream) => {
          for await (const m of stream)
            await stream.send(Buffer.from(`re:${Buffer.from(m).toString()}`));
          return undefined;
        },
      },
      Boom: {
        streaming: 'server',
        handler: async (stream) => {
          await stream.send(Buffer.from('first'));
          throw new CcError('failed_precondition', 'ERR_TEST', 'boom');
        },
      },
    });
    return server;
  }

  test('server-streaming sends data frames then a closing data frame', async () => {
    const client = await connected(streamingServer());
    const s = client.stream('s.Stream', 'Count', {
      streamingClient: false,
      payload: Buffer.from('3'),
    });
    const got: string[] = [];
    for await (const m of s) got.push(Buffer.from(m).toString());
    expect(got).toEqual(['0', '1', '2']);
    expect(await s.response).toHaveLength(0);
  });

  test('the wire shows data frames and a remote-closed|no-data final frame', async () => {
    const { sock, next } = await rawClient(streamingServer());
    const body = Request.encode({
      service: 's.Stream',
      method: 'Count',
      payload: Buffer.from('2'),
      timeout_nano: 0,
      metadata: [],
    }).finish();
    sock.write(encodeFrame({ streamId: 1, type: 'request', flags: 1, payload: body }));
    expect(await next()).toMatchObject({ type: FRAME_TYPE.data, flags: 0 });
    expect(await next()).toMatchObject({ type: FRAME_TYPE.data, flags: 0 });
    expect(await next()).toMatchObject({
      type: FRAME_TYPE.data,
      flags: DATA_FLAG.remoteClosed | DATA_FLAG.noData,
    });
  });

  test('client-streaming collects data frames and answers with one response', async () => {
    const client = await connected(streamingServer());
    const s = client.stream('s.Stream', 'Sum', { streamingServer: false });
    for (const n of [1, 2, 3]) await s.send(Buffer.from(String(n)));
    await s.closeSend();
    expect(Buffer.from(await s.response).toString()).toBe('6');
  });

  test('fails a stream whose inbound buffer overflows with RESOURCE_EXHAUSTED', async () => {
    const server = new TtrpcServer({ maxBufferedPerStream: 2 });
    server.register('s.Stream', {
      Stall: {
        streaming: 'client',
        handler: async (stream) => {
          await sleep(50);
          for await (const m of stream) expect(m).toBeDefined();
          return undefined;
        },
      },
    });
    const client = await connected(server);
    const s = client.stream('s.Stream', 'Stall', { streamingServer: false });
    for (let i = 0; i < 5; i++) await s.send(Buffer.from([i]));
    await expect(s.response).rejects.toMatchObject({ kind: 'resource_exhausted', grpcCode: 8 });
  });

  test('bidi-streaming echoes each message and ends after closeSend', async () => {
    const client = await connected(streamingServer());
    const s = client.stream('s.Stream', 'Chat');
    await s.send(Buffer.from('a'));
    await s.send(Buffer.from('b'));
    await s.closeSend();
    const got: string[] = [];
    for await (const m of s) got.push(Buffer.from(m).toString());
    expect(got).toEqual(['re:a', 're:b']);
  });

  test('a failing stream handler ends the stream with its status after the data sent', async () => {
    const client = await connected(streamingServer());
    const s = client.stream('s.Stream', 'Boom', { streamingClient: false });
    const got: string[] = [];
    const it = (async () => {
      for await (const m of s) got.push(Buffer.from(m).toString());
    })();
    await expect(it).rejects.toMatchObject({ kind: 'failed_precondition', message: 'boom' });
    expect(got).toEqual(['first']);
  });
});

describe('TtrpcServer.listen', () => {
  test('accepts many connections on a unix socket and closes in order', async () => {
    const dir = tmpdir();
    cleanups.push(() => {
      dir.remove();
    });
    const path = join(dir.path, 'ttrpc.sock');
    const server = echoServer();
    await server.listen(path);
    const clients = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<TtrpcClient>((resolve, reject) => {
            const sock = connect(path, () => {
              resolve(new TtrpcClient(sock));
            });
            sock.once('error', reject);
          }),
      ),
    );
    const outs = await Promise.all(
      clients.map((c, i) => c.call('test.Echo', 'Echo', Buffer.from(`c${i}`))),
    );
    expect(outs.map((o) => Buffer.from(o).toString())).toEqual(['c0', 'c1', 'c2']);
    expect(server.connectionCount).toBe(3);
    await server.close();
    await Promise.all(clients.map((c) => c.closed));
    expect(server.connectionCount).toBe(0);
  });

  test('lets a running call answer during close, then refuses new connections', async () => {
    const dir = tmpdir();
    cleanups.push(() => {
      dir.remove();
    });
    const path = join(dir.path, 'ttrpc.sock');
    const server = new TtrpcServer();
    server.register('s.S', {
      Slow: async () => {
        await sleep(100);
        return Buffer.from('done');
      },
    });
    await server.listen(path);
    const sock = connect(path);
    const client = new TtrpcClient(sock);
    const call = client.call('s.S', 'Slow', new Uint8Array());
    await sleep(20);
    const closing = server.close();
    expect(Buffer.from(await call).toString()).toBe('done');
    await closing;
    await client.closed;
    await expect(server.listen(path)).rejects.toMatchObject({ kind: 'unavailable' });
  });

  test('replaces a stale socket file and refuses a regular file in the way', async () => {
    const dir = tmpdir();
    cleanups.push(() => {
      dir.remove();
    });
    const stale = join(dir.path, 'stale.sock');
    const first = echoServer();
    await first.listen(stale);
    await first.close();
    // net.Server removes its socket on close; make a stale one by hand
    const { createServer } = await import('node:net');
    const s2 = createServer();
    await new Promise<void>((r) => s2.listen(stale, r));
    const handle = s2 as unknown as { _handle: { close(): void } | null };
    handle._handle?.close();
    const second = echoServer();
    cleanups.push(() => second.close());
    await second.listen(stale);
    const sock = connect(stale);
    const client = new TtrpcClient(sock);
    expect(
      Buffer.from(await client.call('test.Echo', 'Echo', Buffer.from('again'))).toString(),
    ).toBe('again');
    await client.close();
    const file = join(dir.path, 'file');
    await writeFile(file, 'x');
    await expect(echoServer().listen(file)).rejects.toMatchObject({ kind: 'already_exists' });
    expect(await readFile(file, 'utf8')).toBe('x');
  });
});
