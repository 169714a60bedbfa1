import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { NULL_LOGGER } from '#src/lib/index.js';
import type { CallContext } from '#src/protocol/ttrpc/index.js';
import { createAgentService } from '#guest/agent/index.js';
import { GuestNetwork } from '#guest/network/index.js';
import { DenyListPolicy } from '#guest/policy/index.js';
import { CommandMounter, Sandbox } from '#guest/sandbox/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function ctx(method: string): CallContext {
  return {
    signal: new AbortController().signal,
    metadata: new Map(),
    service: 'grpc.AgentService',
    method,
  };
}

function service(denied: string[]) {
  const sys = mkdtempSync(join(tmpdir(), 'kata-sysnet-'));
  dirs.push(sys);
  mkdirSync(join(sys, 'eth0'));
  writeFileSync(join(sys, 'eth0', 'address'), '36:4d:a6:d1:fb:e7\n');
  writeFileSync(join(sys, 'eth0', 'mtu'), '1450\n');
  const calls: string[] = [];
  const network = new GuestNetwork({
    sysClassNet: sys,
    ip: (args) => {
      calls.push(args.join(' '));
      return Promise.resolve('');
    },
  });
  const svc = createAgentService({
    // the network RPCs never touch the sandbox
    sandbox: new Sandbox({
      crunBinary: '/usr/bin/crun',
      mounter: new CommandMounter(),
      runDir: join(sys, 'run'),
      storageRoot: join(sys, 'storage'),
      pauseBundle: join(sys, 'pause'),
      cgroupRoot: '/sys/fs/cgroup',
      cgroupBase: '/kata-cc-unit',
      confidential: false,
      sysfs: '/sys',
      log: NULL_LOGGER,
      startTimeoutMs: 1000,
      deviceTimeoutMs: 100,
      oomPollMs: 1000,
    }),
    policy: new DenyListPolicy(denied),
    log: NULL_LOGGER,
    agentVersion: 'test',
    sysfs: sys,
    network,
    copyFileRoot: join(sys, 'shared'),
  });
  return { svc, calls };
}

const iface = {
  device: 'eth0',
  name: 'eth0',
  IPAddresses: [{ family: 0 as const, address: '10.9.9.5', mask: '24' }],
  mtu: 1450,
  hwAddr: '36:4d:a6:d1:fb:e7',
  pciPath: '',
  type: 'veth',
  raw_flags: 0,
};

describe('network RPCs of the agent service', () => {
  test('UpdateInterface answers the applied interface', async () => {
    const { svc, calls } = service([]);
    const r = await svc.UpdateInterface!({ interface: iface }, ctx('UpdateInterface'));
    expect(r).toMatchObject({ name: 'eth0', hwAddr: '36:4d:a6:d1:fb:e7', mtu: 1450 });
    expect(calls).toContain('addr add 10.9.9.5/24 dev eth0');
  });

  test.each([
    ['UpdateInterfaceRequest', 'UpdateInterface', { interface: iface }],
    ['UpdateRoutesRequest', 'UpdateRoutes', { routes: { Routes: [] } }],
    ['ListInterfacesRequest', 'ListInterfaces', {}],
    ['ListRoutesRequest', 'ListRoutes', {}],
    [
      'CopyFileRequest',
      'CopyFile',
      {
        path: '/x',
        file_size: 0,
        file_mode: 0,
        dir_mode: 0,
        uid: 0,
        gid: 0,
        offset: 0,
        data: Buffer.alloc(0),
      },
    ],
  ] as const)('%s goes through the agent policy', async (requestName, method, req) => {
    const { svc, calls } = service([requestName]);
    const fn = svc[method] as (r: unknown, c: CallContext) => Promise<unknown>;
    await expect(fn(req, ctx(method))).rejects.toMatchObject({
      kind: 'permission_denied',
      message: expect.stringMatching(new RegExp(`^${requestName} is blocked by policy`)),
    });
    expect(calls, 'nothing ran').toEqual([]);
  });

  test('a hostile interface name is INVALID_ARGUMENT before any command runs', async () => {
    const { svc, calls } = service([]);
    await expect(
      svc.UpdateInterface!({ interface: { ...iface, name: '../../etc' } }, ctx('UpdateInterface')),
    ).rejects.toMatchObject({
      kind: 'invalid_argument',
      message: expect.stringMatching(/interface.name/),
    });
    expect(calls).toEqual([]);
  });
});
