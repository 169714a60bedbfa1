import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { NULL_LOGGER } from '#src/lib/index.js';
import { EventForwarder } from '#src/host/service/index.js';
import {
  Any,
  EVENTS_SERVICE,
  ForwardRequest,
  TaskExit,
  TaskStart,
} from '#src/protocol/shim/index.js';
import { TtrpcServer } from '#src/protocol/ttrpc/index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'events-'));
  cleanups.push(() => { rmSync(d, { recursive: true, force: true }); });
  return d;
}

/** A real ttrpc server standing in for containerd's events service. */
async function fakeContainerd(
  path: string,
  seen: { topic: string; typeUrl: string; ns: string; meta: string }[],
): Promise<TtrpcServer> {
  const server = new TtrpcServer();
  server.register(EVENTS_SERVICE, {
    Forward: (payload, ctx) => {
      const env = ForwardRequest.decode(payload).envelope;
      seen.push({
        topic: env?.topic ?? '',
        typeUrl: env?.event?.type_url ?? '',
        ns: env?.namespace ?? '',
        meta: ctx.metadata.get('containerd-namespace-ttrpc')?.[0] ?? '',
      });
      return Promise.resolve(new Uint8Array(0));
    },
  });
  await server.listen(path);
  cleanups.push(() => server.close({ graceMs: 100 }));
  return server;
}

const exit = {
  type: 'task-exit',
  containerId: 'c1',
  execId: '',
  pid: 7,
  exitStatus: 3,
  exitedAt: new Date(1_000_500),
} as const;

describe('EventForwarder', () => {
  test('forwards events in order as Envelopes with topic, namespace and typed Any', async () => {
    const dir = tmp();
    const seen: { topic: string; typeUrl: string; ns: string; meta: string }[] = [];
    await fakeContainerd(join(dir, 'ttrpc.sock'), seen);
    const f = new EventForwarder({
      namespace: 'ns1',
      ttrpcAddress: join(dir, 'ttrpc.sock'),
      address: '',
      publishBinary: '',
      logger: NULL_LOGGER,
    });
    f.publish({ type: 'task-start', containerId: 'c1', pid: 7 });
    f.publish(exit);
    f.publish({ type: 'oom', containerId: 'c1' });
    await f.close();
    expect(seen).toEqual([
      { topic: '/tasks/start', typeUrl: 'containerd.events.TaskStart', ns: 'ns1', meta: 'ns1' },
      { topic: '/tasks/exit', typeUrl: 'containerd.events.TaskExit', ns: 'ns1', meta: 'ns1' },
      { topic: '/tasks/oom', typeUrl: 'containerd.events.TaskOOM', ns: 'ns1', meta: 'ns1' },
    ]);
    expect(f.delivered).toBe(3);
  });

  test('retries until containerd listens, keeping the order', async () => {
    const dir = tmp();
    const seen: { topic: string; typeUrl: string; ns: string; meta: string }[] = [];
    const f = new EventForwarder({
      namespace: 'n',
      ttrpcAddress: join(dir, 'late.sock'),
      address: '',
      publishBinary: '',
      logger: NULL_LOGGER,
      attempts: 8,
    });
    f.publish({ type: 'task-start', containerId: 'c1', pid: 7 });
    f.publish(exit);
    await new Promise((r) => setTimeout(r, 250));
    await fakeContainerd(join(dir, 'late.sock'), seen);
    await f.close();
    expect(seen.map((s) => s.topic)).toEqual(['/tasks/start', '/tasks/exit']);
  });

  test('falls back to `<publish-binary> publish` with the Any on stdin', async () => {
    const dir = tmp();
    const bin = join(dir, 'publish.sh');
    writeFileSync(bin, `#!/bin/sh\necho "$@" >> ${dir}/args\ncat > ${dir}/stdin\n`);
    chmodSync(bin, 0o755);
    const f = new EventForwarder({
      namespace: 'n',
      ttrpcAddress: join(dir, 'none.sock'),
      address: '/c.sock',
      publishBinary: bin,
      logger: NULL_LOGGER,
      attempts: 1,
    });
    f.publish(exit);
    await f.close();
    expect(readFileSync(join(dir, 'args'), 'utf8').trim()).toBe(
      '--address /c.sock publish --topic /tasks/exit --namespace n',
    );
    const any = Any.decode(readFileSync(join(dir, 'stdin')));
    expect(any.type_url).toBe('containerd.events.TaskExit');
    const e = TaskExit.decode(any.value);
    expect(e).toMatchObject({
      container_id: 'c1',
      id: 'c1',
      pid: 7,
      exit_status: 3,
      exited_at: { seconds: 1000, nanos: 500_000_000 },
    });
    expect(TaskStart).toBeDefined();
  });

  test('drops an event only after every route failed, and counts it', async () => {
    const dir = tmp();
    const f = new EventForwarder({
      namespace: 'n',
      ttrpcAddress: join(dir, 'none.sock'),
      address: '',
      publishBinary: join(dir, 'missing'),
      logger: NULL_LOGGER,
      attempts: 1,
    });
    f.publish(exit);
    await f.close();
    expect(f.dropped).toBe(1);
  });
});
