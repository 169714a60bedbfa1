import { isPlainObject, type Logger } from '#src/lib/index.js';
import type {
  LinuxResources as AgentResources,
  Mount as AgentMount,
  Process as AgentProcess,
  Spec as AgentSpec,
} from '#src/protocol/agent/index.js';
import { AgentError } from './errors.js';

type Json = Readonly<Record<string, unknown>>;

function obj(v: unknown): Json {
  return isPlainObject(v) ? v : {};
}
function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0;
}
function strs(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
function record(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(obj(v))) if (typeof x === 'string') out[k] = x;
  return out;
}

/** The OCI `process` (JSON, from the bundle or an exec) as the agent's proto `Process`. */
export function toAgentProcess(raw: unknown, at = 'process'): AgentProcess {
  if (!isPlainObject(raw))
    throw new AgentError('invalid_argument', 'ERR_AGENT_SPEC', `${at}: expected an object`);
  const args = strs(raw['args']);
  if (args.length === 0)
    throw new AgentError(
      'invalid_argument',
      'ERR_AGENT_SPEC',
      `${at}.args: expected a non-empty list`,
    );
  const user = obj(raw['user']);
  const caps = obj(raw['capabilities']);
  const size = obj(raw['consoleSize']);
  return {
    Terminal: raw['terminal'] === true,
    ConsoleSize:
      raw['consoleSize'] === undefined
        ? undefined
        : { Height: num(size['height']), Width: num(size['width']) },
    User: {
      UID: num(user['uid']),
      GID: num(user['gid']),
      AdditionalGids: Array.isArray(user['additionalGids']) ? user['additionalGids'].map(num) : [],
      Username: str(user['username']),
    },
    Args: args,
    Env: strs(raw['env']),
    Cwd: str(raw['cwd']) || '/',
    Capabilities: {
      Bounding: strs(caps['bounding']),
      Effective: strs(caps['effective']),
      Inheritable: strs(caps['inheritable']),
      Permitted: strs(caps['permitted']),
      Ambient: strs(caps['ambient']),
    },
    Rlimits: (Array.isArray(raw['rlimits']) ? raw['rlimits'] : []).map((r) => {
      const o = obj(r);
      return { Type: str(o['type']), Hard: num(o['hard']), Soft: num(o['soft']) };
    }),
    NoNewPrivileges: raw['noNewPrivileges'] === true,
    ApparmorProfile: '',
    OOMScoreAdj: num(raw['oomScoreAdj']),
    SelinuxLabel: '',
  };
}

/** OCI LinuxResources (JSON) as the agent's proto; only what a guest cgroup can apply. */
export function toAgentResources(raw: unknown): AgentResources {
  const r = obj(raw);
  const mem = obj(r['memory']);
  const cpu = obj(r['cpu']);
  const pids = obj(r['pids']);
  return {
    Devices: [],
    Memory:
      r['memory'] === undefined
        ? undefined
        : {
            Limit: num(mem['limit']),
            Reservation: num(mem['reservation']),
            Swap: num(mem['swap']),
            Kernel: 0,
            KernelTCP: 0,
            Swappiness: num(mem['swappiness']),
            DisableOOMKiller: mem['disableOOMKiller'] === true,
          },
    CPU:
      r['cpu'] === undefined
        ? undefined
        : {
            Shares: num(cpu['shares']),
            Quota: num(cpu['quota']),
            Period: num(cpu['period']),
            RealtimeRuntime: 0,
            RealtimePeriod: 0,
            Cpus: str(cpu['cpus']),
            Mems: str(cpu['mems']),
          },
    Pids: r['pids'] === undefined ? undefined : { Limit: num(pids['limit']) },
    BlockIO: undefined,
    HugepageLimits: [],
    Network: undefined,
  };
}

/** Guest folder of files the shim copied in (CopyFile); bind mounts from there are kept. */
export const GUEST_SHARED_FILES_DIR = '/run/kata-containers/shared/containers';

/**
 * Mounts the guest can make itself; host bind mounts mean nothing inside the VM and are dropped,
 * except those whose source the shim already copied into the guest (GUEST_SHARED_FILES_DIR).
 */
function guestMounts(raw: unknown, log: Logger): AgentMount[] {
  const out: AgentMount[] = [];
  for (const m of Array.isArray(raw) ? raw : []) {
    const o = obj(m);
    const options = strs(o['options']);
    const type = str(o['type']);
    const source = str(o['source']);
    const isCopied = source.startsWith(`${GUEST_SHARED_FILES_DIR}/`);
    if (!isCopied && (type === 'bind' || options.includes('bind') || options.includes('rbind'))) {
      log.debug('host bind mount not shared with the guest', {
        destination: str(o['destination']),
      });
      continue;
    }
    out.push({ destination: str(o['destination']), source, type, options });
  }
  return out;
}

export interface ToAgentSpecOptions {
  /** The container's root inside the guest (a storage mount point). */
  readonly rootPath: string;
  readonly logger: Logger;
}

/** The bundle's OCI spec as the agent's proto `Spec`, with the root moved into the guest. */
export function toAgentSpec(spec: Json, o: ToAgentSpecOptions): AgentSpec {
  const linux = obj(spec['linux']);
  const root = obj(spec['root']);
  return {
    Version: str(spec['ociVersion']),
    Process: toAgentProcess(spec['process']),
    Root: { Path: o.rootPath, Readonly: root['readonly'] === true },
    Hostname: str(spec['hostname']),
    Mounts: guestMounts(spec['mounts'], o.logger),
    Hooks: undefined,
    Annotations: record(spec['annotations']),
    Linux: {
      UIDMappings: [],
      GIDMappings: [],
      Sysctl: record(linux['sysctl']),
      Resources: toAgentResources(linux['resources']),
      CgroupsPath: str(linux['cgroupsPath']),
      // host namespace paths (netns of the CNI) mean nothing in the guest
      Namespaces: (Array.isArray(linux['namespaces']) ? linux['namespaces'] : []).map((n) => ({
        Type: str(obj(n)['type']),
        Path: '',
      })),
      Devices: [],
      Seccomp: undefined,
      RootfsPropagation: str(linux['rootfsPropagation']),
      MaskedPaths: strs(linux['maskedPaths']),
      ReadonlyPaths: strs(linux['readonlyPaths']),
      MountLabel: '',
      IntelRdt: undefined,
    },
    Solaris: undefined,
    Windows: undefined,
  };
}
