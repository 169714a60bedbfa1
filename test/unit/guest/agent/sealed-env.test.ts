import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { CcError } from '#src/lib/index.js';
import { sealedSecretService } from '#src/protocol/cdh/index.js';
import { TtrpcServer, registerTypedService } from '#src/protocol/ttrpc/index.js';
import {
  createCdhUnsealer,
  hasSealedEnv,
  unsealEnv,
  type SecretUnsealer,
} from '#guest/agent/sealed-env.js';
import { tmpdir } from '#test/helpers/tmpdir.js';
import { NULL_LOGGER } from '#src/lib/index.js';

const table: Record<string, string | Uint8Array> = {
  'sealed.h.good.s': 'the-secret',
  'sealed.h.nul.s': 'a\0b',
  'sealed.h.bin.s': new Uint8Array([0xff, 0xfe]),
};
const fake: SecretUnsealer = {
  unseal(sealed) {
    const v = table[sealed];
    if (v === undefined)
      return Promise.reject(new CcError('permission_denied', 'ERR_X', 'denied by the kbs'));
    return Promise.resolve(typeof v === 'string' ? new Uint8Array(Buffer.from(v)) : v);
  },
};

describe('unsealEnv', () => {
  test('replaces sealed values, keeps the rest in order', async () => {
    const env = ['PATH=/bin', 'A=sealed.h.good.s', 'B=plain', 'NOEQ'];
    expect(hasSealedEnv(env)).toBe(true);
    expect(await unsealEnv(env, fake)).toEqual(['PATH=/bin', 'A=the-secret', 'B=plain', 'NOEQ']);
    expect(hasSealedEnv(['PATH=/bin', 'X=unsealed.y'])).toBe(false);
  });

  test.each([
    ['a denied secret', 'sealed.h.other.s', 'permission_denied'],
    ['a NUL in the plaintext', 'sealed.h.nul.s', 'invalid_argument'],
    ['a non UTF-8 plaintext', 'sealed.h.bin.s', 'invalid_argument'],
  ])('fails on %s, naming the variable but not the value', async (_w, value, kind) => {
    const err = await unsealEnv([`SECRET_VAR=${value}`], fake).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind, code: 'ERR_AGENT_SEALED_SECRET' });
    expect((err as Error).message).toContain('SECRET_VAR');
    expect((err as Error).message).not.toContain('the-secret');
  });
});

describe('createCdhUnsealer', () => {
  const dirs: ReturnType<typeof tmpdir>[] = [];
  const servers: TtrpcServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    for (const d of dirs.splice(0)) d.remove();
  });

  function serve(path: string): Promise<void> {
    const server = new TtrpcServer();
    servers.push(server);
    registerTypedService(server, sealedSecretService, {
      UnsealSecret: (req) => {
        const s = Buffer.from(req.secret).toString();
        if (s !== 'sealed.h.good.s')
          return Promise.reject(new CcError('permission_denied', 'ERR_X', 'resource denied'));
        return Promise.resolve({ plaintext: Buffer.from('from-cdh') });
      },
    });
    return server.listen(path);
  }

  test('calls UnsealSecret over the CDH socket, waiting for it to appear', async () => {
    const d = tmpdir();
    dirs.push(d);
    const path = join(d.path, 'cdh.sock');
    const u = createCdhUnsealer({ socketPath: path, waitMs: 10_000, log: NULL_LOGGER });
    const pending = unsealEnv(['S=sealed.h.good.s'], u);
    await new Promise((r) => setTimeout(r, 400));
    await serve(path);
    expect(await pending).toEqual(['S=from-cdh']);
    await expect(unsealEnv(['S=sealed.h.bad.s'], u)).rejects.toMatchObject({
      kind: 'permission_denied',
      message: expect.stringContaining('resource denied') as unknown,
    });
  });

  test('a missing CDH is a clear unavailable error after the wait', async () => {
    const d = tmpdir();
    dirs.push(d);
    const u = createCdhUnsealer({
      socketPath: join(d.path, 'none.sock'),
      waitMs: 300,
      log: NULL_LOGGER,
    });
    await expect(u.unseal('sealed.h.good.s')).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringContaining('guest components') as unknown,
    });
  });
});
