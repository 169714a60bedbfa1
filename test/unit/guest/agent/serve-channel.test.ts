import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { NULL_LOGGER } from '#src/lib/index.js';
import { TtrpcClient, createTypedClient } from '#src/protocol/ttrpc/index.js';
import { connectUnix, type VsockBinding } from '#src/protocol/transport/index.js';
import { AgentServer, HEALTH_SERVICE_DEF, serveChannel } from '#guest/agent/index.js';
import { AllowAllPolicy } from '#guest/policy/index.js';
import { CommandMounter, Sandbox } from '#guest/sandbox/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

function makeServer(dir: string): AgentServer {
  const sandbox = new Sandbox({
    crunBinary: '/usr/bin/crun',
    mounter: new CommandMounter(),
    runDir: join(dir, 'run'),
    storageRoot: join(dir, 'storage'),
    pauseBundle: join(dir, 'pause'),
    cgroupRoot: '/sys/fs/cgroup',
    cgroupBase: '/kata-cc-unit',
    confidential: false,
    sysfs: '/sys',
    log: NULL_LOGGER,
    startTimeoutMs: 1000,
    deviceTimeoutMs: 100,
    oomPollMs: 1000,
  });
  return new AgentServer({
    sandbox,
    policy: new AllowAllPolicy(),
    log: NULL_LOGGER,
    agentVersion: 'unit',
    sysfs: '/sys',
  });
}

describe('serveChannel', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  test('serves a unix channel until the signal aborts', async () => {
    const t = tmpdir();
    cleanups.push(() => {
      t.remove();
    });
    const server = makeServer(t.path);
    cleanups.push(() => server.close());
    const stop = new AbortController();
    const path = join(t.path, 'a.sock');
    const serving = await serveChannel(server, { kind: 'unix', path }, NULL_LOGGER, stop.signal);
    const client = new TtrpcClient(await connectUnix(path));
    const health = createTypedClient(client, HEALTH_SERVICE_DEF);
    expect((await health.Version({ service: '' })).agent_version).toBe('unit');
    await client.close();
    stop.abort();
    await serving.done;
  });

  test('refuses vsock without a binding, and names the reason when the addon is missing', async () => {
    const t = tmpdir();
    cleanups.push(() => {
      t.remove();
    });
    const server = makeServer(t.path);
    cleanups.push(() => server.close());
    const signal = new AbortController().signal;
    await expect(
      serveChannel(server, { kind: 'vsock', port: 1024 }, NULL_LOGGER, signal),
    ).rejects.toMatchObject({
      kind: 'unimplemented',
    });
    const missing: VsockBinding = {
      isAvailable: () => false,
      unavailableReason: () => 'addon not built',
      vsockSupported: () => false,
      vsockListen: () => -1,
      vsockConnect: () => Promise.resolve(-1),
      vsockAccept: () => Promise.reject(new Error('no')),
      shutdownFd: () => undefined,
    };
    await expect(
      serveChannel(server, { kind: 'vsock', port: 1024 }, NULL_LOGGER, signal, missing),
    ).rejects.toThrow(/addon not built/);
  });
});
