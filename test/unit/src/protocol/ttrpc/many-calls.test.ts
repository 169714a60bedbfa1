import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { TtrpcClient, TtrpcServer } from '#src/protocol/ttrpc/index.js';
import { connectUnix } from '#src/protocol/transport/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

describe('ttrpc over a unix socket under load', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  test('answers 1,000 concurrent unary calls on one connection, each with its own payload', async () => {
    const dir = tmpdir('kata-cc-ttrpc-load-');
    cleanups.push(() => {
      dir.remove();
    });
    const path = join(dir.path, 'ttrpc.sock');
    const server = new TtrpcServer();
    server.register('load.Echo', {
      // reply out of order: a later request may be answered first
      Echo: async (p) => {
        await new Promise((r) => setTimeout(r, p[0]! % 7));
        return Buffer.concat([Buffer.from('re:'), p]);
      },
    });
    await server.listen(path);
    cleanups.push(() => server.close());
    const client = new TtrpcClient(await connectUnix(path));
    cleanups.push(() => client.close());
    const n = 1000;
    const replies = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        client.call('load.Echo', 'Echo', Buffer.from(`${i % 251}:${i}`)),
      ),
    );
    expect(replies.map((r) => Buffer.from(r).toString())).toEqual(
      Array.from({ length: n }, (_, i) => `re:${i % 251}:${i}`),
    );
    expect(client.pendingCount).toBe(0);
  });
});
