import type { ContainerSpec, NamespaceSpec, ProcessSpec, Resources } from './types.js';

/** What the sandbox decided for one container, beyond the host's spec. */
export interface OciConfigOptions {
  /** Absolute path of the prepared rootfs (overlay or pause rootfs). */
  readonly rootfs: string;
  readonly rootReadonly: boolean;
  /** cgroup path relative to the cgroup root, e.g. `/kata-cc/<sandbox>/<container>`. */
  readonly cgroupsPath: string;
  /** Namespaces to join instead of creating (ipc/uts/pid of the sandbox container). */
  readonly joinNamespaces: Readonly<Partial<Record<NamespaceSpec['type'], string>>>;
  /** Process args replacing the spec's (the pause container runs the guest's own pause). */
  readonly argsOverride?: readonly string[] | undefined;
  /** Environment replacing the spec's (with argsOverride). */
  readonly envOverride?: readonly string[] | undefined;
}

type Json = Readonly<Record<string, unknown>>;

/** The OCI runtime-spec `process` object for crun (`config.json` or `crun exec --process`). */
export function ociProcess(
  p: ProcessSpec,
  argsOverride?: readonly string[],
  envOverride?: readonly string[],
): Json {
  return {
    terminal: p.terminal,
    user: {
      uid: p.user.uid,
      gid: p.user.gid,
      ...(p.user.additionalGids.length > 0 ? { additionalGids: p.user.additionalGids } : {}),
      ...(p.user.umask !== undefined ? { umask: p.user.umask } : {}),
    },
    args: argsOverride ?? p.args,
    env: envOverride ?? p.env,
    cwd: p.cwd,
    ...(p.capabilities ? { capabilities: p.capabilities } : {}),
    ...(p.rlimits.length > 0 ? { rlimits: p.rlimits } : {}),
    noNewPrivileges: p.noNewPrivileges,
    ...(p.oomScoreAdj !== undefined ? { oomScoreAdj: p.oomScoreAdj } : {}),
    ...(p.apparmorProfile ? { apparmorProfile: p.apparmorProfile } : {}),
    ...(p.selinuxLabel ? { selinuxLabel: p.selinuxLabel } : {}),
  };
}

/**
 * OCI `linux.resources` for crun (only the fields that were given). Memory is left out: the sandbox
 * sets it on the agent-owned parent cgroup (see README), so UpdateContainer can change it.
 */
export function ociResources(r: Resources | undefined): Json {
  if (!r) return {};
  const out: Record<string, unknown> = {};
  if (r.cpu) out['cpu'] = dropUndefined(r.cpu);
  if (r.pids) out['pids'] = { limit: r.pids.limit };
  return out;
}

/**
 * The container's `config.json`. Host namespace paths are dropped (they name host objects); the
 * network namespace is the VM's own (as Kata does); ipc/uts/pid may join the sandbox container's.
 */
export function buildOciConfig(spec: ContainerSpec, o: OciConfigOptions): Json {
  const namespaces: { type: string; path?: string }[] = spec.linux.namespaces
    .filter((ns) => ns.type !== 'network')
    .map((ns) => {
      const join = o.joinNamespaces[ns.type];
      return join ? { type: ns.type, path: join } : { type: ns.type };
    });
  for (const [type, path] of Object.entries(o.joinNamespaces)) {
    if (!namespaces.some((ns) => ns.type === type)) namespaces.push({ type, path });
  }
  return {
    ociVersion: '1.0.2',
    process: ociProcess(spec.process, o.argsOverride, o.envOverride),
    root: { path: o.rootfs, readonly: o.rootReadonly },
    ...(spec.hostname ? { hostname: spec.hostname } : {}),
    mounts: spec.mounts.map((m) => ({
      destination: m.destination,
      type: m.type,
      source: m.source,
      options: m.options,
    })),
    annotations: spec.annotations,
    linux: {
      namespaces,
      ...(spec.linux.uidMappings.length > 0 ? { uidMappings: spec.linux.uidMappings } : {}),
      ...(spec.linux.gidMappings.length > 0 ? { gidMappings: spec.linux.gidMappings } : {}),
      resources: ociResources(spec.linux.resources),
      cgroupsPath: o.cgroupsPath,
      ...(spec.linux.seccomp ? { seccomp: spec.linux.seccomp } : {}),
      maskedPaths: spec.linux.maskedPaths,
      readonlyPaths: spec.linux.readonlyPaths,
      ...(Object.keys(spec.linux.sysctl).length > 0 ? { sysctl: spec.linux.sysctl } : {}),
    },
  };
}

function dropUndefined(o: object): Json {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
