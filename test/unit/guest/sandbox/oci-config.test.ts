import { describe, expect, test } from 'vitest';
import { buildOciConfig } from '#guest/sandbox/oci-config.js';
import { parseFlatKeyed } from '#guest/sandbox/index.js';
import { containerSpec } from './sandbox-fixture.js';

describe('buildOciConfig', () => {
  test('drops the network namespace, joins the sandbox namespaces and sets the cgroup path', () => {
    const spec = containerSpec('/run/x/rootfs', ['/bin/true']);
    const cfg = buildOciConfig(spec, {
      rootfs: '/run/x/rootfs',
      rootReadonly: false,
      cgroupsPath: '/kata-cc/sb/c1/ctr',
      joinNamespaces: { ipc: '/proc/7/ns/ipc', uts: '/proc/7/ns/uts' },
    }) as {
      linux: { namespaces: { type: string; path?: string }[]; cgroupsPath: string };
      process: { args: string[] };
    };
    expect(cfg.linux.namespaces).toEqual([
      { type: 'pid' },
      { type: 'mount' },
      { type: 'ipc', path: '/proc/7/ns/ipc' },
      { type: 'uts', path: '/proc/7/ns/uts' },
    ]);
    expect(cfg.linux.cgroupsPath).toBe('/kata-cc/sb/c1/ctr');
    expect(cfg.process.args).toEqual(['/bin/true']);
  });

  test('the pause bundle args and env replace the host ones', () => {
    const cfg = buildOciConfig(containerSpec('/x', ['/evil']), {
      rootfs: '/opt/pause/rootfs',
      rootReadonly: true,
      cgroupsPath: '/c',
      joinNamespaces: {},
      argsOverride: ['/bin/sleep', 'inf'],
      envOverride: ['PATH=/bin'],
    }) as { process: { args: string[]; env: string[] }; root: { path: string; readonly: boolean } };
    expect(cfg.process.args).toEqual(['/bin/sleep', 'inf']);
    expect(cfg.process.env).toEqual(['PATH=/bin']);
    expect(cfg.root).toEqual({ path: '/opt/pause/rootfs', readonly: true });
  });
});

describe('parseFlatKeyed', () => {
  test('parses cgroup key/value files and clamps u64 counters to safe integers', () => {
    expect(parseFlatKeyed('oom 1\noom_kill 2\nmax 9223372036854771712\nbad x\n\n')).toEqual({
      oom: 1,
      oom_kill: 2,
      max: Number.MAX_SAFE_INTEGER,
    });
  });
});

describe('resources in config.json', () => {
  test('carry cpu and pids but not memory (memory is set on the parent cgroup)', () => {
    const base = containerSpec('/r', ['/bin/true']);
    const spec = {
      ...base,
      linux: {
        ...base.linux,
        resources: { memory: { limit: 1 << 20 }, pids: { limit: 10 }, cpu: { shares: 512 } },
      },
    };
    const cfg = buildOciConfig(spec, {
      rootfs: '/r',
      rootReadonly: false,
      cgroupsPath: '/c',
      joinNamespaces: {},
    }) as {
      linux: { resources: Record<string, unknown> };
    };
    expect(cfg.linux.resources).toEqual({ pids: { limit: 10 }, cpu: { shares: 512 } });
  });
});
