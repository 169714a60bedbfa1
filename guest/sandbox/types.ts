/**
 * Domain types of the sandbox layer. guest/agent translates the Kata wire types into these
 * (`fromAgent*`); nothing here knows protobuf. Field meanings follow the OCI runtime spec.
 */

export interface UserSpec {
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids: readonly number[];
  readonly umask?: number | undefined;
}

export interface CapabilitySet {
  readonly bounding: readonly string[];
  readonly effective: readonly string[];
  readonly inheritable: readonly string[];
  readonly permitted: readonly string[];
  readonly ambient: readonly string[];
}

export interface Rlimit {
  readonly type: string;
  readonly hard: number;
  readonly soft: number;
}

export interface ProcessSpec {
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly terminal: boolean;
  /** Initial size of the terminal (only with `terminal`). */
  readonly consoleSize?: { readonly rows: number; readonly cols: number } | undefined;
  readonly user: UserSpec;
  readonly capabilities?: CapabilitySet | undefined;
  readonly rlimits: readonly Rlimit[];
  readonly noNewPrivileges: boolean;
  readonly oomScoreAdj?: number | undefined;
  readonly apparmorProfile?: string | undefined;
  readonly selinuxLabel?: string | undefined;
}

export interface MountSpec {
  readonly destination: string;
  readonly source: string;
  readonly type: string;
  readonly options: readonly string[];
}

export interface NamespaceSpec {
  readonly type: 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';
  readonly path?: string | undefined;
}

export interface IdMapping {
  readonly containerId: number;
  readonly hostId: number;
  readonly size: number;
}

/** Resource limits (OCI `linux.resources`); absent fields are left alone. */
export interface Resources {
  readonly memory?:
    | {
        readonly limit?: number | undefined;
        readonly reservation?: number | undefined;
        readonly swap?: number | undefined;
      }
    | undefined;
  readonly cpu?:
    | {
        readonly shares?: number | undefined;
        readonly quota?: number | undefined;
        readonly period?: number | undefined;
        readonly cpus?: string | undefined;
        readonly mems?: string | undefined;
      }
    | undefined;
  readonly pids?: { readonly limit: number } | undefined;
}

/** OCI seccomp, kept in the runtime spec's JSON shape: it is passed through to crun as given. */
export interface SeccompSpec {
  readonly defaultAction: string;
  readonly defaultErrnoRet?: number | undefined;
  readonly architectures: readonly string[];
  readonly flags: readonly string[];
  readonly syscalls: readonly {
    readonly names: readonly string[];
    readonly action: string;
    readonly errnoRet?: number | undefined;
    readonly args: readonly {
      readonly index: number;
      readonly value: number;
      readonly valueTwo: number;
      readonly op: string;
    }[];
  }[];
}

export interface LinuxSpec {
  readonly namespaces: readonly NamespaceSpec[];
  readonly uidMappings: readonly IdMapping[];
  readonly gidMappings: readonly IdMapping[];
  readonly resources?: Resources | undefined;
  readonly seccomp?: SeccompSpec | undefined;
  readonly maskedPaths: readonly string[];
  readonly readonlyPaths: readonly string[];
  readonly sysctl: Readonly<Record<string, string>>;
}

export interface ContainerSpec {
  readonly process: ProcessSpec;
  readonly hostname?: string | undefined;
  /** The rootfs path as the host named it (must equal a storage mount point, see Storage). */
  readonly rootPath: string;
  readonly rootReadonly: boolean;
  readonly mounts: readonly MountSpec[];
  readonly annotations: Readonly<Record<string, string>>;
  readonly linux: LinuxSpec;
}

/** A storage the container needs (Kata `Storage`). */
export interface StorageSpec {
  readonly driver: string;
  readonly source: string;
  readonly fstype: string;
  readonly options: readonly string[];
  /** Driver-specific `key=value` options (Kata `driver_options`, e.g. `image_guest_pull=<json>`). */
  readonly driverOptions?: readonly string[] | undefined;
  readonly mountPoint: string;
}

export interface ExitStatus {
  /** Wait status as Kata reports it: the exit code, or 128 + signal number. */
  readonly status: number;
  readonly exitedAt: Date;
}

export interface ContainerStats {
  readonly memory: {
    readonly usage: number;
    readonly maxUsage: number;
    readonly limit: number;
    readonly failcnt: number;
    readonly stat: Readonly<Record<string, number>>;
  };
  readonly cpu: {
    readonly totalUsageNs: number;
    readonly userNs: number;
    readonly kernelNs: number;
    readonly throttledPeriods: number;
    readonly throttledTimeNs: number;
    readonly periods: number;
  };
  readonly pids: { readonly current: number; readonly limit: number };
}
