import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { sendHttp } from '#src/protocol/kbs/http-request.js';

describe('sendHttp', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });
  async function silent(): Promise<URL> {
    const s = createServer(() => undefined); // never answers
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return new URL(`http://127.0.0.1:${String((s.address() as AddressInfo).port)}/x`);
  }

  test('a KBS that does not answer in time is deadline_exceeded, not unavailable', async () => {
    const url = await silent();
    await expect(
      sendHttp(url, { method: 'GET', signal: AbortSignal.timeout(100) }),
    ).rejects.toMatchObject({
      kind: 'deadline_exceeded',
      message: expect.stringContaining('no answer before the deadline') as unknown,
    });
  });

  test('a caller abort is cancelled; a refused connection is unavailable', async () => {
    const url = await silent();
    const ac = new AbortController();
    const p = sendHttp(url, { method: 'GET', signal: ac.signal });
    setTimeout(() => {
      ac.abort();
    }, 50);
    await expect(p).rejects.toMatchObject({ kind: 'cancelled' });
    await expect(
      sendHttp(new URL('http://127.0.0.1:1/x'), { method: 'GET' }),
    ).rejects.toMatchObject({ kind: 'unavailable' });
  });
});
