import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { QmpClient, type QmpEvent } from '#src/host/hypervisor/index.js';

interface FakeQmp {
  readonly path: string;
  readonly received: unknown[];
  sockets: Socket[];
  server: Server;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A fake QEMU monitor: greeting, then answers per `handle` (undefined = no answer). */
async function fakeQmp(
  handle: (cmd: { execute: string; id: number }, s: Socket) => unknown,
): Promise<FakeQmp> {
  const dir = mkdtempSync(join(tmpdir(), 'kata-qmp-'));
  const path = join(dir, 'qmp.sock');
  const fake: FakeQmp = { path, received: [], sockets: [], server: createServer() };
  fake.server.on('connection', (s) => {
    fake.sockets.push(s);
    s.write(
      '{"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}}, "capabilities": []}}\r\n',
    );
    let buf = '';
    s.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const cmd = JSON.parse(buf.slice(0, nl)) as { execute: string; id: number };
        buf = buf.slice(nl + 1);
        fake.received.push(cmd);
        const r = cmd.execute === 'qmp_capabilities' ? { return: {} } : handle(cmd, s);
        if (r !== undefined) s.write(JSON.stringify({ ...(r as object), id: cmd.id }) + '\r\n');
      }
    });
  });
  await new Promise<void>((r) => fake.server.listen(path, r));
  cleanups.push(async () => {
    for (const s of fake.sockets) s.destroy();
    await new Promise<void>((r) =>
      fake.server.close(() => {
        r();
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  });
  return fake;
}

describe('QmpClient', () => {
  test('negotiates capabilities and runs commands', async () => {
    const fake = await fakeQmp((cmd) =>
      cmd.execute === 'query-status'
        ? { return: { status: 'running', running: true, singlestep: false } }
        : { return: {} },
    );
    const c = await QmpClient.connect(fake.path);
    cleanups.push(() => c.close());
    expect(await c.queryStatus()).toEqual({ status: 'running', running: true });
    await c.stop();
    await c.cont();
    expect(fake.received.map((m) => (m as { execute: string }).execute)).toEqual([
      'qmp_capabilities',
      'query-status',
      'stop',
      'cont',
    ]);
  });

  test('turns a QMP error into ERR_QMP_COMMAND with the class and description', async () => {
    const fake = await fakeQmp(() => ({
      error: { class: 'CommandNotFound', desc: 'The command nope has not been found' },
    }));
    const c = await QmpClient.connect(fake.path);
    cleanups.push(() => c.close());
    await expect(c.execute('nope')).rejects.toMatchObject({
      code: 'ERR_QMP_COMMAND',
      message: expect.stringContaining('CommandNotFound'),
    });
  });

  test('fails pending commands with unavailable when the socket closes', async () => {
    const fake = await fakeQmp((_cmd, s) => {
      s.destroy();
      return undefined;
    });
    const c = await QmpClient.connect(fake.path);
    await expect(c.execute('query-status')).rejects.toMatchObject({
      kind: 'unavailable',
      code: 'ERR_QMP_CLOSED',
    });
    await c.closed;
    await expect(c.execute('query-status')).rejects.toMatchObject({ code: 'ERR_QMP_CLOSED' });
  });

  test('treats quit as done when QEMU closes the socket without replying', async () => {
    const fake = await fakeQmp((_cmd, s) => {
      s.destroy();
      return undefined;
    });
    const c = await QmpClient.connect(fake.path);
    await expect(c.quit()).resolves.toBeUndefined();
  });

  test('cancels a command whose signal aborts', async () => {
    const fake = await fakeQmp(() => undefined);
    const c = await QmpClient.connect(fake.path);
    cleanups.push(() => c.close());
    await expect(
      c.execute('query-status', undefined, { signal: AbortSignal.timeout(50) }),
    ).rejects.toMatchObject({ kind: 'deadline_exceeded' });
  });

  test('delivers events to listeners and to the async iterable, which ends on close', async () => {
    const fake = await fakeQmp(() => ({ return: {} }));
    const c = await QmpClient.connect(fake.path);
    const heard: string[] = [];
    const off = c.onEvent((e) => heard.push(e.event));
    const collected: QmpEvent[] = [];
    const loop = (async () => {
      for await (const e of c.events()) collected.push(e);
    })();
    const s = fake.sockets[0]!;
    s.write(
      '{"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 0}}\r\n{"event": "RESUME", "data": {}, "timestamp": {"seconds": 2, "microseconds": 0}}\r\n',
    );
    await new Promise((r) => setTimeout(r, 50));
    off();
    s.write(
      '{"event": "SHUTDOWN", "data": {"guest": true}, "timestamp": {"seconds": 3, "microseconds": 0}}\r\n',
    );
    await new Promise((r) => setTimeout(r, 50));
    s.destroy();
    await loop;
    expect(heard).toEqual(['STOP', 'RESUME']);
    expect(collected.map((e) => e.event)).toEqual(['STOP', 'RESUME', 'SHUTDOWN']);
  });

  test('gives up connecting to a socket that never appears', async () => {
    await expect(
      QmpClient.connect('/nonexistent/kata-qmp.sock', { timeoutMs: 100 }),
    ).rejects.toMatchObject({ kind: 'unavailable', code: 'ERR_QMP_CLOSED' });
  });
});
