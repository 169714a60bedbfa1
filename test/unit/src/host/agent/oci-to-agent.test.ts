import { describe, expect, test } from 'vitest';
import { NULL_LOGGER } from '#src/lib/index.js';
import { toAgentProcess, toAgentResources, toAgentSpec } from '#src/host/agent/index.js';
import { Spec } from '#src/protocol/agent/index.js';

const spec = {
  ociVersion: '1.0.2',
  process: {
    terminal: true,
    user: { uid: 1, gid: 2, additionalGids: [3] },
    args: ['sh'],
    env: ['A=b'],
    cwd: '/w',
    capabilities: { bounding: ['CAP_KILL'] },
  },
  root: { path: 'rootfs', readonly: true },
  hostname: 'h',
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc', options: [] },
    {
      destination: '/etc/hosts',
      type: 'bind',
      source: '/var/lib/host/hosts',
      options: ['rbind', 'ro'],
    },
  ],
  annotations: { a: 'b', n: 5 },
  linux: {
    namespaces: [{ type: 'network', path: '/var/run/netns/cni-1' }, { type: 'pid' }],
    resources: { memory: { limit: 1024 } },
    maskedPaths: ['/proc/kcore'],
  },
};

describe('toAgentSpec', () => {
  test('moves the root into the guest and keeps only what the guest can honour', () => {
    const s = toAgentSpec(spec, {
      rootPath: '/run/kata-containers/shared/containers/c1/rootfs',
      logger: NULL_LOGGER,
    });
    expect(s.Root).toEqual({
      Path: '/run/kata-containers/shared/containers/c1/rootfs',
      Readonly: true,
    });
    expect(s.Mounts.map((m) => m.destination)).toEqual(['/proc']);
    expect(s.Linux?.Namespaces).toEqual([
      { Type: 'network', Path: '' },
      { Type: 'pid', Path: '' },
    ]);
    expect(s.Linux?.Resources?.Memory?.Limit).toBe(1024);
    expect(s.Annotations).toEqual({ a: 'b' });
    expect(s.Process?.User).toEqual({ UID: 1, GID: 2, AdditionalGids: [3], Username: '' });
    expect(s.Process?.Capabilities?.Bounding).toEqual(['CAP_KILL']);
    expect(Spec.decode(Spec.encode(s).finish())).toEqual(s);
  });

  test.each([[undefined], [5], [{ args: [] }], [{ args: 'sh' }]])('refuses the process %j', (p) => {
    expect(() => toAgentProcess(p)).toThrow(
      expect.objectContaining({ code: 'ERR_AGENT_SPEC', kind: 'invalid_argument' }),
    );
  });

  test('defaults the working directory and leaves absent resources unset', () => {
    expect(toAgentProcess({ args: ['true'] }).Cwd).toBe('/');
    expect(toAgentResources({})).toMatchObject({
      Memory: undefined,
      CPU: undefined,
      Pids: undefined,
    });
    expect(
      toAgentResources({ pids: { limit: 9 }, cpu: { quota: 5, period: 10, cpus: '0' } }),
    ).toMatchObject({ Pids: { Limit: 9 }, CPU: { Quota: 5, Period: 10, Cpus: '0' } });
  });
});
