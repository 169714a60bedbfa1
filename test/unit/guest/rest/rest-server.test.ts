import { afterEach, describe, expect, test } from 'vitest';
import { RestServer } from '#guest/rest/index.js';
import { CcError } from '#src/lib/index.js';

describe('RestServer', () => {
  let server: RestServer | undefined;
  afterEach(async () => {
    await server?.close();
  });
  async function start(): Promise<string> {
    server = new RestServer({
      backends: {
        getResource: (uri) =>
          uri === 'kbs:///a/b/c'
            ? Promise.resolve(new Uint8Array([1, 2]))
            : Promise.reject(new CcError('not_found', 'ERR_X', `no ${uri}`)),
        getToken: (t) => Promise.resolve(new Uint8Array(Buffer.from(t))),
        getEvidence: (rd) => Promise.resolve(rd),
      },
    });
    const a = await server.listen('127.0.0.1', 0);
    return `http://127.0.0.1:${String(a.port)}`;
  }

  test.each([
    ['/cdh/resource/a/b/c', 200, '\u0001\u0002'],
    ['/cdh/resource/a/b/x', 404, 'no kbs:///a/b/x'],
    ['/cdh/resource/a/b', 400, 'expected /cdh/resource/<repository>/<type>/<tag>'],
    ['/aa/token?token_type=kbs', 200, 'kbs'],
    ['/aa/token', 400, 'missing query parameter token_type'],
    ['/aa/evidence?runtime_data=hi', 200, 'hi'],
    ['/nope', 404, 'unknown path /nope'],
  ])('GET %s answers %i', async (path, status, body) => {
    const res = await fetch(`${await start()}${path}`);
    expect(res.status).toBe(status);
    expect(await res.text()).toBe(body);
  });

  test('refuses methods other than GET', async () => {
    expect((await fetch(`${await start()}/aa/token`, { method: 'POST' })).status).toBe(405);
  });
});
