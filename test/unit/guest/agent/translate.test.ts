import { describe, expect, test } from 'vitest';
import { Spec, Storage } from '#src/protocol/agent/index.js';
import {
  LIMITS,
  fromAgentResources,
  fromAgentSpec,
  fromAgentStorages,
  toAgentCgroupStats,
} from '#guest/agent/index.js';

/** A wire spec from a partial one (fromPartial fills the defaults, as a host would send them). */
function wire(extra: object = {}): Spec {
  const base = {
    Process: {
      Args: ['/bin/sh'],
      Env: ['A=1'],
      Cwd: '/',
      User: { UID: 1000, GID: 1000, AdditionalGids: [5] },
    },
    Root: { Path: '/run/kata-containers/c1/rootfs' },
    Linux: {
      Namespaces: [{ Type: 'pid', Path: '/proc/1/ns/pid' }, { Type: 'network' }],
      MaskedPaths: ['/proc/kcore'],
    },
  };
  return Spec.fromPartial({ ...base, ...extra } as Spec);
}

describe('fromAgentSpec', () => {
  test('keeps the initial console size of a terminal process, and none without a terminal', () => {
    const size = { Height: 33, Width: 101 };
    const tty = fromAgentSpec(
      wire({ Process: { Args: ['/bin/sh'], Terminal: true, ConsoleSize: size } }),
    );
    expect(tty.process.consoleSize).toEqual({ rows: 33, cols: 101 });
    const plain = fromAgentSpec(wire({ Process: { Args: ['/bin/sh'], ConsoleSize: size } }));
    expect(plain.process.consoleSize).toBeUndefined();
  });

  test('translates the OCI wire spec into the domain spec and drops host namespace paths', () => {
    const s = fromAgentSpec(wire());
    expect(s.process.args).toEqual(['/bin/sh']);
    expect(s.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [5] });
    expect(s.rootPath).toBe('/run/kata-containers/c1/rootfs');
    expect(s.linux.namespaces).toEqual([{ type: 'pid' }, { type: 'network' }]);
    expect(s.linux.maskedPaths).toEqual(['/proc/kcore']);
  });

  test.each([
    ['no spec', undefined, /OCI: missing/],
    ['empty args', wire({ Process: { Args: [] } }), /Args: empty/],
    ['a relative cwd', wire({ Process: { Args: ['/x'], Cwd: 'tmp' } }), /Cwd/],
    ['a relative root', wire({ Root: { Path: 'rootfs' } }), /Root\.Path/],
    [
      'an unknown namespace',
      wire({ Linux: { Namespaces: [{ Type: 'magic' }] } }),
      /unknown namespace/,
    ],
    ['host hooks', wire({ Hooks: { Prestart: [{ Path: '/bin/x' }] } }), /hooks/],
    [
      'too many args',
      wire({ Process: { Args: Array<string>(LIMITS.args + 1).fill('a') } }),
      /more than/,
    ],
    ['a NUL in env', wire({ Process: { Args: ['/x'], Env: ['A=\0'] } }), /NUL/],
    ['a huge uid', wire({ Process: { Args: ['/x'], User: { UID: 2 ** 40 } } }), /UID/],
    [
      'a console taller than a u16',
      wire({
        Process: { Args: ['/x'], Terminal: true, ConsoleSize: { Height: 65536, Width: 80 } },
      }),
      /ConsoleSize\.Height/,
    ],
  ])('rejects %s as invalid_argument', (_what, spec, message) => {
    expect(() => fromAgentSpec(spec)).toThrow(message);
    expect(() => fromAgentSpec(spec)).toThrow(
      expect.objectContaining({ kind: 'invalid_argument' }) as Error,
    );
  });
});

describe('other translators', () => {
  test('storages keep their fields and must have absolute mount points', () => {
    const st = Storage.fromPartial({
      driver: 'blk',
      source: '/dev/vdb',
      fstype: 'erofs',
      mount_point: '/run/x',
      driver_options: ['image_guest_pull={}'],
    });
    expect(fromAgentStorages([st])).toEqual([
      {
        driver: 'blk',
        source: '/dev/vdb',
        fstype: 'erofs',
        options: [],
        driverOptions: ['image_guest_pull={}'],
        mountPoint: '/run/x',
      },
    ]);
    expect(() => fromAgentStorages([{ ...st, mount_point: 'x' }])).toThrow(/mount_point/);
  });

  test('resources: zero means unset, negative means unlimited', () => {
    expect(
      fromAgentResources({
        Devices: [],
        HugepageLimits: [],
        Memory: {
          Limit: 0,
          Reservation: 0,
          Swap: -1,
          Kernel: 0,
          KernelTCP: 0,
          Swappiness: 0,
          DisableOOMKiller: false,
        },
      })?.memory,
    ).toEqual({ limit: undefined, reservation: undefined, swap: -1 });
  });

  test('stats map onto CgroupStats', () => {
    const cg = toAgentCgroupStats({
      memory: { usage: 10, maxUsage: 20, limit: 30, failcnt: 1, stat: { file: 4 } },
      cpu: {
        totalUsageNs: 5,
        userNs: 3,
        kernelNs: 2,
        periods: 0,
        throttledPeriods: 0,
        throttledTimeNs: 0,
      },
      pids: { current: 2, limit: 0 },
    });
    expect(cg.memory_stats?.usage).toEqual({ usage: 10, max_usage: 20, failcnt: 1, limit: 30 });
    expect(cg.memory_stats?.cache).toBe(4);
    expect(cg.cpu_stats?.cpu_usage?.total_usage).toBe(5);
    expect(cg.pids_stats).toEqual({ current: 2, limit: 0 });
  });
});
