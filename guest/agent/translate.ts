import type {
  CgroupStats,
  LinuxIDMapping,
  LinuxResources,
  LinuxSeccomp,
  Mount,
  Process,
  Spec,
  Storage,
} from '#src/protocol/agent/index.js';
import {
  checkAbsolutePath,
  checkBounded,
  checkList,
  checkText,
  type ContainerSpec,
  type ContainerStats,
  type IdMapping,
  type LinuxSpec,
  type MountSpec,
  type NamespaceSpec,
  type ProcessSpec,
  type Resources,
  type SeccompSpec,
  type StorageSpec,
} from '#guest/sandbox/index.js';
import { AgentError } from './errors.js';

/** Bounds on what the (untrusted) host may send. */
export const LIMITS = {
  args: 4096,
  env: 4096,
  mounts: 256,
  storages: 64,
  options: 64,
  annotations: 512,
  capabilities: 64,
  rlimits: 64,
  syscalls: 4096,
  namespaces: 16,
  idMappings: 64,
  paths: 256,
  maxId: 2 ** 32 - 1,
} as const;

const NAMESPACE_TYPES = [
  'pid',
  'network',
  'mount',
  'ipc',
  'uts',
  'user',
  'cgroup',
  'time',
] as const;

function missing(what: string): AgentError {
  return new AgentError('invalid_argument', 'ERR_AGENT_INVALID', `${what}: missing`);
}

function strings(list: readonly string[], what: string, max: number, each = 65536): string[] {
  checkList(list, what, max);
  return list.map((s, i) => checkText(s, `${what}[${i}]`, each));
}

/** Kata `Process` (OCI, CamelCase) → domain ProcessSpec. */
export function fromAgentProcess(p: Process | undefined, at = 'OCI.Process'): ProcessSpec {
  if (!p) throw missing(at);
  const args = strings(p.Args, `${at}.Args`, LIMITS.args);
  if (args.length === 0)
    throw new AgentError('invalid_argument', 'ERR_AGENT_INVALID', `${at}.Args: empty`);
  const user = p.User;
  const caps = p.Capabilities;
  return {
    args,
    env: strings(p.Env, `${at}.Env`, LIMITS.env),
    cwd: p.Cwd === '' ? '/' : checkAbsolutePath(p.Cwd, `${at}.Cwd`),
    terminal: p.Terminal,
    consoleSize:
      p.Terminal && p.ConsoleSize && (p.ConsoleSize.Height > 0 || p.ConsoleSize.Width > 0)
        ? {
            rows: checkBounded(p.ConsoleSize.Height, `${at}.ConsoleSize.Height`, 0xffff),
            cols: checkBounded(p.ConsoleSize.Width, `${at}.ConsoleSize.Width`, 0xffff),
          }
        : undefined,
    user: {
      uid: checkBounded(user?.UID ?? 0, `${at}.User.UID`, LIMITS.maxId),
      gid: checkBounded(user?.GID ?? 0, `${at}.User.GID`, LIMITS.maxId),
      additionalGids: checkList(user?.AdditionalGids ?? [], `${at}.User.AdditionalGids`, 64).map(
        (g, i) => checkBounded(g, `${at}.User.AdditionalGids[${i}]`, LIMITS.maxId),
      ),
    },
    capabilities: caps
      ? {
          bounding: strings(caps.Bounding, `${at}.Capabilities.Bounding`, LIMITS.capabilities, 64),
          effective: strings(
            caps.Effective,
            `${at}.Capabilities.Effective`,
            LIMITS.capabilities,
            64,
          ),
          inheritable: strings(
            caps.Inheritable,
            `${at}.Capabilities.Inheritable`,
            LIMITS.capabilities,
            64,
          ),
          permitted: strings(
            caps.Permitted,
            `${at}.Capabilities.Permitted`,
            LIMITS.capabilities,
            64,
          ),
          ambient: strings(caps.Ambient, `${at}.Capabilities.Ambient`, LIMITS.capabilities, 64),
        }
      : undefined,
    rlimits: checkList(p.Rlimits, `${at}.Rlimits`, LIMITS.rlimits).map((r, i) => ({
      type: checkText(r.Type, `${at}.Rlimits[${i}].Type`, 64),
      hard: r.Hard,
      soft: r.Soft,
    })),
    noNewPrivileges: p.NoNewPrivileges,
    oomScoreAdj:
      p.OOMScoreAdj === 0
        ? undefined
        : checkBounded(p.OOMScoreAdj, `${at}.OOMScoreAdj`, 1000, -1000),
    apparmorProfile:
      p.ApparmorProfile === ''
        ? undefined
        : checkText(p.ApparmorProfile, `${at}.ApparmorProfile`, 256),
    selinuxLabel:
      p.SelinuxLabel === '' ? undefined : checkText(p.SelinuxLabel, `${at}.SelinuxLabel`, 256),
  };
}

function fromAgentMount(m: Mount, i: number): MountSpec {
  const at = `OCI.Mounts[${i}]`;
  return {
    destination: checkAbsolutePath(m.destination, `${at}.destination`),
    source: checkText(m.source, `${at}.source`, 4096),
    type: checkText(m.type, `${at}.type`, 64),
    options: strings(m.options, `${at}.options`, LIMITS.options, 4096),
  };
}

/** OCI `LinuxResources` → domain Resources (0 / absent means "leave alone"). */
export function fromAgentResources(
  r: LinuxResources | undefined,
  at = 'resources',
): Resources | undefined {
  if (!r) return undefined;
  const nonNeg = (n: number, what: string): number | undefined =>
    n === 0 ? undefined : n < 0 ? -1 : checkBounded(n, what, Number.MAX_SAFE_INTEGER);
  return {
    memory: r.Memory
      ? {
          limit: nonNeg(r.Memory.Limit, `${at}.Memory.Limit`),
          reservation: nonNeg(r.Memory.Reservation, `${at}.Memory.Reservation`),
          swap: nonNeg(r.Memory.Swap, `${at}.Memory.Swap`),
        }
      : undefined,
    cpu: r.CPU
      ? {
          shares: nonNeg(r.CPU.Shares, `${at}.CPU.Shares`),
          quota: r.CPU.Quota === 0 ? undefined : r.CPU.Quota,
          period: nonNeg(r.CPU.Period, `${at}.CPU.Period`),
          cpus: r.CPU.Cpus === '' ? undefined : checkText(r.CPU.Cpus, `${at}.CPU.Cpus`, 256),
          mems: r.CPU.Mems === '' ? undefined : checkText(r.CPU.Mems, `${at}.CPU.Mems`, 256),
        }
      : undefined,
    pids:
      r.Pids && r.Pids.Limit !== 0 ? { limit: r.Pids.Limit < 0 ? -1 : r.Pids.Limit } : undefined,
  };
}

function fromAgentSeccomp(s: LinuxSeccomp | undefined): SeccompSpec | undefined {
  if (!s || s.DefaultAction === '') return undefined;
  const at = 'OCI.Linux.Seccomp';
  return {
    defaultAction: checkText(s.DefaultAction, `${at}.DefaultAction`, 64),
    architectures: strings(s.Architectures, `${at}.Architectures`, 16, 64),
    flags: strings(s.Flags, `${at}.Flags`, 16, 64),
    syscalls: checkList(s.Syscalls, `${at}.Syscalls`, LIMITS.syscalls).map((sc, i) => ({
      names: strings(sc.Names, `${at}.Syscalls[${i}].Names`, 1024, 64),
      action: checkText(sc.Action, `${at}.Syscalls[${i}].Action`, 64),
      errnoRet: sc.ErrnoRet?.errnoret,
      args: checkList(sc.Args, `${at}.Syscalls[${i}].Args`, 6).map((a) => ({
        index: checkBounded(a.Index, `${at}.Syscalls[${i}].Args.Index`, 5),
        value: a.Value,
        valueTwo: a.ValueTwo,
        op: checkText(a.Op, `${at}.Syscalls[${i}].Args.Op`, 32),
      })),
    })),
  };
}

function fromAgentLinux(spec: Spec): LinuxSpec {
  const l = spec.Linux;
  const at = 'OCI.Linux';
  const namespaces: NamespaceSpec[] = checkList(
    l?.Namespaces ?? [],
    `${at}.Namespaces`,
    LIMITS.namespaces,
  ).map((ns, i) => {
    const type = NAMESPACE_TYPES.find((t) => t === ns.Type);
    if (!type)
      throw new AgentError(
        'invalid_argument',
        'ERR_AGENT_INVALID',
        `${at}.Namespaces[${i}].Type: unknown namespace ${JSON.stringify(ns.Type)}`,
      );
    return { type };
  });
  const ids = (list: readonly LinuxIDMapping[], what: string): IdMapping[] =>
    checkList(list, what, LIMITS.idMappings).map((m) => ({
      containerId: m.ContainerID,
      hostId: m.HostID,
      size: m.Size,
    }));
  const sysctl: Record<string, string> = {};
  for (const [k, v] of Object.entries(l?.Sysctl ?? {}))
    sysctl[checkText(k, `${at}.Sysctl key`, 256)] = checkText(v, `${at}.Sysctl[${k}]`, 4096);
  return {
    namespaces,
    uidMappings: ids(l?.UIDMappings ?? [], `${at}.UIDMappings`),
    gidMappings: ids(l?.GIDMappings ?? [], `${at}.GIDMappings`),
    resources: fromAgentResources(l?.Resources, `${at}.Resources`),
    seccomp: fromAgentSeccomp(l?.Seccomp),
    maskedPaths: checkList(l?.MaskedPaths ?? [], `${at}.MaskedPaths`, LIMITS.paths).map((p, i) =>
      checkAbsolutePath(p, `${at}.MaskedPaths[${i}]`),
    ),
    readonlyPaths: checkList(l?.ReadonlyPaths ?? [], `${at}.ReadonlyPaths`, LIMITS.paths).map(
      (p, i) => checkAbsolutePath(p, `${at}.ReadonlyPaths[${i}]`),
    ),
    sysctl,
  };
}

/** Kata `Spec` → domain ContainerSpec (validated; host-only fields such as hooks are refused). */
export function fromAgentSpec(spec: Spec | undefined): ContainerSpec {
  if (!spec) throw missing('OCI');
  if (spec.Hooks && Object.values(spec.Hooks).some((h: unknown[]) => h.length > 0))
    throw new AgentError(
      'invalid_argument',
      'ERR_AGENT_INVALID',
      'OCI.Hooks: hooks from the host are not run in the guest',
    );
  const annotations: Record<string, string> = {};
  const entries = Object.entries(spec.Annotations);
  checkList(entries, 'OCI.Annotations', LIMITS.annotations);
  for (const [k, v] of entries)
    annotations[checkText(k, 'OCI.Annotations key', 1024)] = checkText(
      v,
      `OCI.Annotations[${k}]`,
      1 << 20,
    );
  return {
    process: fromAgentProcess(spec.Process),
    hostname: spec.Hostname === '' ? undefined : checkText(spec.Hostname, 'OCI.Hostname', 253),
    rootPath: checkAbsolutePath(spec.Root?.Path ?? '', 'OCI.Root.Path'),
    rootReadonly: spec.Root?.Readonly ?? false,
    mounts: checkList(spec.Mounts, 'OCI.Mounts', LIMITS.mounts).map(fromAgentMount),
    annotations,
    linux: fromAgentLinux(spec),
  };
}

export function fromAgentStorages(list: readonly Storage[], at = 'storages'): StorageSpec[] {
  return checkList(list, at, LIMITS.storages).map((s, i) => ({
    driver: checkText(s.driver, `${at}[${i}].driver`, 64),
    source: checkText(s.source, `${at}[${i}].source`, 4096),
    fstype: checkText(s.fstype, `${at}[${i}].fstype`, 64),
    options: strings(s.options, `${at}[${i}].options`, LIMITS.options, 4096),
    driverOptions: strings(s.driver_options, `${at}[${i}].driver_options`, LIMITS.options, 65536),
    mountPoint: checkAbsolutePath(s.mount_point, `${at}[${i}].mount_point`),
  }));
}

/** Domain stats → Kata `CgroupStats`. */
export function toAgentCgroupStats(s: ContainerStats): CgroupStats {
  return {
    cpu_stats: {
      cpu_usage: {
        total_usage: s.cpu.totalUsageNs,
        percpu_usage: [],
        usage_in_kernelmode: s.cpu.kernelNs,
        usage_in_usermode: s.cpu.userNs,
      },
      throttling_data: {
        periods: s.cpu.periods,
        throttled_periods: s.cpu.throttledPeriods,
        throttled_time: s.cpu.throttledTimeNs,
      },
    },
    memory_stats: {
      cache: s.memory.stat['file'] ?? s.memory.stat['cache'] ?? 0,
      usage: {
        usage: s.memory.usage,
        max_usage: s.memory.maxUsage,
        failcnt: s.memory.failcnt,
        limit: s.memory.limit,
      },
      swap_usage: undefined,
      kernel_usage: undefined,
      use_hierarchy: true,
      stats: s.memory.stat,
    },
    pids_stats: { current: s.pids.current, limit: s.pids.limit },
    blkio_stats: undefined,
    hugetlb_stats: {},
  };
}
