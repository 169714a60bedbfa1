import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  connectHybridVsock,
  connectUnix,
  listenHybridVsock,
} from '#src/protocol/transport/index.js';
import { TtrpcClient, TtrpcServer } from '#src/protocol/ttrpc/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dir(): string {
  const d = tmpdir();
  cleanups.push(() => {
    d.remove();
  });
  return d.path;
}

/** A unix server whose every connection is handed to `onConn`; cleanup destroys them all. */
async function rawServer(path: string, onConn: (s: Socket) => void): Promise<Server> {
  const socks = new Set<Socket>();
  const s = createServer((sock) => {
    socks.add(sock);
    onConn(sock);
  });
  await new Promise<void>((r) => s.listen(path, r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const sock of socks) sock.destroy();
        s.close(() => {
          r();
        });
      }),
  );
  return s;
}

describe('connectUnix', () => {
  test('fails with not_found for a missing socket', async () => {
    await expect(connectUnix(join(dir(), 'none.sock'))).rejects.toMatchObject({
      kind: 'not_found',
      code: 'ERR_TRANSPORT_CONNECT',
    });
  });

  test('honours an aborted signal', async () => {
    await expect(
      connectUnix(join(dir(), 'x.sock'), { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({
      kind: 'cancelled',
    });
  });
});

describe('hybrid vsock', () => {
  test('writes CONNECT <port>, accepts OK <n>, then carries ttrpc', async () => {
    const path = join(dir(), 'hv.sock');
    const server = new TtrpcServer();
    server.register('t.T', { Echo: (p) => Promise.resolve(p) });
    cleanups.push(() => server.close({ graceMs: 100 }));
    const seen: number[] = [];
    const listener = await listenHybridVsock(path, (port) => {
      seen.push(port);
      return port === 1024 ? (sock) => void server.serve(sock) : undefined;
    });
    cleanups.push(() => listener.close());
    const sock = await connectHybridVsock(path, 1024);
    const client = new TtrpcClient(sock);
    cleanups.push(() => client.close());
    expect(Buffer.from(await client.call('t.T', 'Echo', Buffer.from('via hv'))).toString()).toBe(
      'via hv',
    );
    expect(seen).toEqual([1024]);
  });

  test('keeps bytes that arrive in the same chunk as the OK line', async () => {
    const path = join(dir(), 'hv.sock');
    await rawServer(path, (s) => {
      s.once('data', () => s.write('OK 77\nhello'));
    });
    const sock = await connectHybridVsock(path, 5);
    cleanups.push(() => {
      sock.destroy();
    });
    const data = await new Promise<Buffer>((r) => sock.once('data', r));
    expect(data.toString()).toBe('hello');
  });

  test.each([
    ['a refusal line', 'NO\n', /expected "OK <port>"/],
    ['a line that never ends', 'x'.repeat(100), /too long/],
  ])('rejects %s with ERR_TRANSPORT_HANDSHAKE', async (_name, reply, message) => {
    const path = join(dir(), 'hv.sock');
    await rawServer(path, (s) => {
      s.once('data', () => s.write(reply));
    });
    await expect(connectHybridVsock(path, 1024)).rejects.toMatchObject({
      code: 'ERR_TRANSPORT_HANDSHAKE',
      message: expect.stringMatching(message) as unknown,
    });
  });

  test('reports a VMM that closes the connection (no guest listener on the port)', async () => {
    const path = join(dir(), 'hv.sock');
    const listener = await listenHybridVsock(path, () => undefined);
    cleanups.push(() => listener.close());
    await expect(connectHybridVsock(path, 9)).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringMatching(/closed during handshake/) as unknown,
    });
  });

  test('bounds the wait for the answer', async () => {
    const path = join(dir(), 'hv.sock');
    await rawServer(path, () => undefined);
    await expect(connectHybridVsock(path, 1024, { timeoutMs: 50 })).rejects.toMatchObject({
      kind: 'deadline_exceeded',
    });
  });

  test('rejects a port that is not a u32', async () => {
    await expect(connectHybridVsock('/nonexistent', -1)).rejects.toMatchObject({
      kind: 'invalid_argument',
    });
  });
});
