import type { Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { Request, Response } from '#src/protocol/generated/ttrpc/ttrpc.js';
import { CcError, sleep } from '#src/lib/index.js';
import {
  DATA_FLAG,
  encodeFrame,
  FRAME_TYPE,
  FrameDecoder,
  REQUEST_FLAG,
  TtrpcClient,
  TtrpcError,
  TtrpcServer,
} from '#src/protocol/ttrpc/index.js';
import type { Frame } from '#src/protocol/ttrpc/index.js';
import { socketPair } from './socket-pair.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A client wired to a raw peer whose frames the test reads and writes by hand. */
async function rawPeer(): Promise<{
  client: TtrpcClient;
  peer: Socket;
  frames: () => Promise<Frame>;
}> {
  const { a, b, cleanup } = await socketPair();
  cleanups.push(cleanup);
  const client = new TtrpcClient(a);
  const decoder = new FrameDecoder();
  const queue: Frame[] = [];
  let wake: (() => void) | undefined;
  b.on('data', (chunk: Buffer) => {
    queue.push(...decoder.push(chunk));
    wake?.();
  });
  const frames = async (): Promise<Frame> => {
    while (queue.length === 0)
      await new Promise<void>((r) => {
        wake = r;
      });
    return queue.shift() as Frame;
  };
  return { client, peer: b, frames };
}

function respond(
  peer: Socket,
  streamId: number,
  code: number,
  message: string,
  payload = '',
): void {
  const body = Response.encode({
    status: { code, message, details: [] },
    payload: Buffer.from(payload),
  }).finish();
  peer.write(encodeFrame({ streamId, type: 'response', flags: 0, payload: body }));
}

async function servedPair(server: TtrpcServer): Promise<TtrpcClient> {
  const { a, b, cleanup } = await socketPair();
  cleanups.push(cleanup);
  void server.serve(b).catch(() => undefined);
  return new TtrpcClient(a);
}

describe('TtrpcClient', () => {
  test('sends a request envelope on odd stream ids with timeout_nano and metadata', async () => {
    const { client, peer, frames } = await rawPeer();
    const first = client.call('svc.S', 'M', Buffer.from('p1'), {
      timeoutMs: 1500,
      metadata: { 'Containerd-Namespace-Ttrpc': 'k8s.io', multi: ['a', 'b'] },
    });
    const f1 = await frames();
    expect(f1).toMatchObject({ streamId: 1, type: FRAME_TYPE.request, flags: 0 });
    const req = Request.decode(f1.payload);
    expect(req).toMatchObject({ service: 'svc.S', method: 'M', timeout_nano: 1_500_000_000 });
    expect(Buffer.from(req.payload).toString()).toBe('p1');
    expect(req.metadata).toEqual([
      { key: 'containerd-namespace-ttrpc', value: 'k8s.io' },
      { key: 'multi', value: 'a' },
      { key: 'multi', value: 'b' },
    ]);
    const second = client.call('svc.S', 'M', new Uint8Array());
    const f2 = await frames();
    expect(f2.streamId).toBe(3);
    expect(Request.decode(f2.payload).timeout_nano).toBe(0);
    respond(peer, 3, 0, '', 'two');
    respond(peer, 1, 0, '', 'one');
    expect(Buffer.from(await second).toString()).toBe('two');
    expect(Buffer.from(await first).toString()).toBe('one');
    await client.close();
  });

  test.each([
    [5, 'not_found'],
    [3, 'invalid_argument'],
    [12, 'unimplemented'],
    [14, 'unavailable'],
    [2, 'internal'],
  ] as const)(
    'turns status code %i into a TtrpcError of kind %s with the status message',
    async (code, kind) => {
      const { client, peer, frames } = await rawPeer();
      const call = client.call('s', 'm', new Uint8Array());
      await frames();
      respond(peer, 1, code, `failure ${code}`);
      const err: unknown = await call.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TtrpcError);
      expect(err).toMatchObject({
        kind,
        code: 'ERR_TTRPC_STATUS',
        grpcCode: code,
        message: `failure ${code}`,
      });
    },
  );

  test('fails every pending call with unavailable when the connection is lost', async () => {
    const { client, peer, frames } = await rawPeer();
    const calls = [1, 2, 3].map(() =>
      client.call('s', 'm', new Uint8Array()).catch((e: unknown) => e),
    );
    for (let i = 0; i < 3; i++) await frames();
    peer.destroy();
    const errs = await Promise.all(calls);
    for (const e of errs)
      expect(e).toMatchObject({ kind: 'unavailable', code: 'ERR_TTRPC_CLOSED' });
    await client.closed;
    expect(client.isClosed).toBe(true);
    await expect(client.call('s', 'm', new Uint8Array())).rejects.toMatchObject({
      kind: 'unavailable',
    });
  });

  test('stops waiting when the signal aborts and ignores the late response', async () => {
    const { client, peer, frames } = await rawPeer();
    const ac = new AbortController();
    const call = client.call('s', 'm', new Uint8Array(), { signal: ac.signal });
    await frames();
    ac.abort();
    await expect(call).rejects.toMatchObject({ kind: 'cancelled', code: 'ERR_TTRPC_CANCELLED' });
    expect(client.pendingCount).toBe(0);
    respond(peer, 1, 0, '', 'late');
    const next = client.call('s', 'm', new Uint8Array());
    await frames();
    respond(peer, 3, 0, '', 'ok');
    expect(Buffer.from(await next).toString()).toBe('ok');
  });

  test('fails with deadline_exceeded when the timeout passes', async () => {
    const { client, frames } = await rawPeer();
    const call = client.call('s', 'm', new Uint8Array(), { timeoutMs: 30 });
    await frames();
    await expect(call).rejects.toMatchObject({
      kind: 'deadline_exceeded',
      code: 'ERR_TTRPC_DEADLINE',
    });
  });

  test('rejects an already aborted signal without sending', async () => {
    const { client } = await rawPeer();
    await expect(
      client.call('s', 'm', new Uint8Array(), { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ kind: 'cancelled' });
    expect(client.pendingCount).toBe(0);
  });

  test('refuses to send a request over 4 MiB with resource_exhausted', async () => {
    const { client } = await rawPeer();
    await expect(client.call('s', 'm', new Uint8Array(4 << 20))).rejects.toMatchObject({
      kind: 'resource_exhausted',
      code: 'ERR_TTRPC_MESSAGE_TOO_LARGE',
    });
    expect(client.pendingCount).toBe(0);
  });

  test('fails only the call whose response is oversized, as Go discards it', async () => {
    const { client, peer, frames } = await rawPeer();
    const big = client.call('s', 'm', new Uint8Array());
    const small = client.call('s', 'm', new Uint8Array());
    await frames();
    await frames();
    const header = Buffer.alloc(10);
    header.writeUInt32BE((4 << 20) + 1, 0);
    header.writeUInt32BE(1, 4);
    header[8] = 2;
    peer.write(header);
    peer.write(Buffer.alloc((4 << 20) + 1));
    respond(peer, 3, 0, '', 'fine');
    await expect(big).rejects.toMatchObject({ kind: 'resource_exhausted' });
    expect(Buffer.from(await small).toString()).toBe('fine');
  });

  test('close() is idempotent and fails pending calls with ERR_TTRPC_CLOSED', async () => {
    const { client, frames } = await rawPeer();
    const call = client.call('s', 'm', new Uint8Array()).catch((e: unknown) => e);
    await frames();
    await Promise.all([client.close(), client.close()]);
    await client.close();
    expect(await call).toMatchObject({ code: 'ERR_TTRPC_CLOSED' });
  });

  test('runs many concurrent calls on one connection', async () => {
    const server = new TtrpcServer();
    server.register('echo.Echo', {
      Echo: async (p) => {
        await sleep(Math.random() * 5);
        return p;
      },
    });
    const client = await servedPair(server);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.call('echo.Echo', 'Echo', Buffer.from(`m${i}`))),
    );
    expect(results.map((r) => Buffer.from(r).toString())).toEqual(
      Array.from({ length: 200 }, (_, i) => `m${i}`),
    );
    await client.close();
    await server.close();
  });
});

describe('TtrpcClient streams', () => {
  test('server-streaming: request carries remote-closed and the payload; data frames until remote-closed', async () => {
    const { client, peer, frames } = await rawPeer();
    const stream = client.stream('s', 'Watch', {
      streamingClient: false,
      payload: Buffer.from('q'),
    });
    const req = await frames();
    expect(req.flags).toBe(REQUEST_FLAG.remoteClosed);
    expect(Buffer.from(Request.decode(req.payload).payload).toString()).toBe('q');
    peer.write(encodeFrame({ streamId: 1, type: 'data', flags: 0, payload: Buffer.from('a') }));
    peer.write(encodeFrame({ streamId: 1, type: 'data', flags: 0, payload: Buffer.from('b') }));
    peer.write(
      encodeFrame({
        streamId: 1,
        type: 'data',
        flags: DATA_FLAG.remoteClosed | DATA_FLAG.noData,
        payload: new Uint8Array(),
      }),
    );
    const got: string[] = [];
    for await (const m of stream) got.push(Buffer.from(m).toString());
    expect(got).toEqual(['a', 'b']);
    expect(await stream.response).toHaveLength(0);
    await expect(stream.send(new Uint8Array())).rejects.toMatchObject({
      code: 'ERR_TTRPC_STREAM_STATE',
    });
  });

  test('client-streaming: remote-open request, data frames, closing data frame, then the response', async () => {
    const { client, peer, frames } = await rawPeer();
    const stream = client.stream('s', 'Upload', { streamingServer: false });
    expect((await frames()).flags).toBe(REQUEST_FLAG.remoteOpen);
    await stream.send(Buffer.from('x'));
    await stream.closeSend();
    await stream.closeSend();
    expect(await frames()).toMatchObject({ type: FRAME_TYPE.data, flags: 0 });
    const close = await frames();
    expect(close).toMatchObject({ type: FRAME_TYPE.data, flags: 5 });
    expect(close.payload).toHaveLength(0);
    respond(peer, 1, 0, '', 'done');
    expect(Buffer.from(await stream.response).toString()).toBe('done');
    await expect(stream.send(Buffer.from('y'))).rejects.toMatchObject({
      code: 'ERR_TTRPC_STREAM_STATE',
    });
  });

  test('an error status fails both the iterator and the response', async () => {
    const { client, peer, frames } = await rawPeer();
    const stream = client.stream('s', 'Watch', { streamingClient: false });
    await frames();
    respond(peer, 1, 7, 'denied');
    const iterate = async (): Promise<void> => {
      for await (const m of stream) expect(m).toBeDefined();
    };
    await expect(iterate()).rejects.toMatchObject({ kind: 'permission_denied' });
    await expect(stream.response).rejects.toMatchObject({ kind: 'permission_denied' });
  });

  test('fails the stream with ERR_TTRPC_STREAM_FULL when the reader falls behind the bound', async () => {
    const { client, peer, frames } = await rawPeer();
    const stream = client.stream('s', 'Watch', { streamingClient: false, maxBuffered: 2 });
    await frames();
    for (let i = 0; i < 3; i++) {
      peer.write(encodeFrame({ streamId: 1, type: 'data', flags: 0, payload: Buffer.from([i]) }));
    }
    await expect(stream.response).rejects.toMatchObject({
      code: 'ERR_TTRPC_STREAM_FULL',
      kind: 'resource_exhausted',
    });
  });

  test('connection loss fails an open stream with unavailable', async () => {
    const { client, peer, frames } = await rawPeer();
    const stream = client.stream('s', 'Chat');
    await frames();
    peer.destroy();
    await expect(stream.response).rejects.toMatchObject({ kind: 'unavailable' });
  });

  test('aborting the signal cancels the stream', async () => {
    const { client, frames } = await rawPeer();
    const ac = new AbortController();
    const stream = client.stream('s', 'Chat', { signal: ac.signal });
    await frames();
    ac.abort();
    await expect(stream.response).rejects.toMatchObject({ kind: 'cancelled' });
    expect(client.pendingCount).toBe(0);
  });

  test('throws a CcError for a call on a closed client', async () => {
    const { client } = await rawPeer();
    await client.close();
    const err: unknown = await client.call('s', 'm', new Uint8Array()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CcError);
  });
});
