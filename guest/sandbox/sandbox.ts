import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateMachine, type Logger } from '#src/lib/index.js';
import { ContainerCgroup, detectCgroupMode, removeCgroupPath, type CgroupMode } from './cgroup.js';
import { Container } from './container.js';
import type { ContainerProcess } from './container-process.js';
import { Crun } from './crun.js';
import { OomMonitor } from './oom-monitor.js';
import { SandboxError, invalidInput } from './errors.js';
import type { Mounter } from './mounter.js';
import type { OciConfigOptions } from './oci-config.js';
import {
  mountStorage,
  releaseStorage,
  type GuestPullHandler,
  type MountedStorage,
  type StorageOptions,
} from './storage.js';
import type { ContainerSpec, ExitStatus, StorageSpec } from './types.js';
import { checkAbsolutePath, checkId, isWithin } from './validate.js';

export type SandboxState = 'empty' | 'ready' | 'destroyed';

const SANDBOX_TRANSITIONS = {
  empty: ['ready', 'destroyed'],
  ready: ['destroyed'],
  destroyed: [],
} as const satisfies Record<SandboxState, readonly SandboxState[]>;

export const MAX_CONTAINERS = 128;
const CONTAINER_TYPE_KEYS = [
  'io.kubernetes.cri.container-type',
  'io.kubernetes.cri-o.ContainerType',
];

export interface SandboxOptions {
  readonly crunBinary: string;
  readonly mounter: Mounter;
  /** Agent-private directory: bundles (`containers/<id>`) and crun state (`crun`). */
  readonly runDir: string;
  /** Storage mount points must be inside this directory. */
  readonly storageRoot: string;
  /** The pause bundle baked into the guest image (`config.json` + `rootfs/`). */
  readonly pauseBundle: string;
  readonly cgroupRoot: string;
  /** Parent of every container cgroup, e.g. `/kata-cc`. */
  readonly cgroupBase: string;
  /** Refuse host-provided filesystems (from config / initdata). */
  readonly confidential: boolean;
  readonly sysfs: string;
  readonly log: Logger;
  readonly startTimeoutMs: number;
  readonly deviceTimeoutMs: number;
  readonly oomPollMs: number;
  /** Pulls `image_guest_pull` storages (guest/image); absent: that driver is unimplemented. */
  readonly guestPull?: GuestPullHandler | undefined;
}

export interface CreateSandboxParams {
  readonly sandboxId: string;
  readonly hostname: string;
  readonly storages: readonly StorageSpec[];
  readonly sandboxPidns: boolean;
}

/**
 * The pod inside the VM: its containers, shared storages and OOM events. Every method validates
 * ids and states; errors are SandboxError with a `kind` the agent maps to a status.
 */
export class Sandbox {
  readonly #o: SandboxOptions;
  readonly #crun: Crun;
  readonly #sm = new StateMachine<SandboxState>(
    'sandbox',
    'empty',
    SANDBOX_TRANSITIONS,
    'ERR_SANDBOX_STATE',
  );
  readonly #containers = new Map<string, Container>();
  readonly #busy = new Set<string>();
  #params: CreateSandboxParams | undefined;
  #storages: MountedStorage[] = [];
  #cgroupMode: CgroupMode | undefined;
  #sandboxContainer: string | undefined;
  readonly #oom: OomMonitor;

  constructor(options: SandboxOptions) {
    this.#o = options;
    this.#crun = new Crun({
      binary: options.crunBinary,
      stateDir: join(options.runDir, 'crun'),
      consoleDir: join(options.runDir, 'tty'),
    });
    this.#oom = new OomMonitor(options.log, () => this.#containers.values());
  }

  get state(): SandboxState {
    return this.#sm.state;
  }

  get id(): string | undefined {
    return this.#params?.sandboxId;
  }

  get confidential(): boolean {
    return this.#o.confidential;
  }

  async create(params: CreateSandboxParams, signal?: AbortSignal): Promise<void> {
    this.#sm.require('create', 'empty');
    checkId(params.sandboxId, 'sandbox_id');
    this.#cgroupMode = await detectCgroupMode(this.#o.cgroupRoot);
    for (const s of params.storages)
      this.#storages.push(await mountStorage(s, this.#storageOptions(), signal));
    this.#params = params;
    this.#sm.move('ready');
    this.#oom.start(this.#o.oomPollMs);
  }

  #storageOptions(containerId?: string): StorageOptions {
    return {
      guestPull: this.#o.guestPull,
      containerId,
      mounter: this.#o.mounter,
      storageRoot: this.#o.storageRoot,
      confidential: this.#o.confidential,
      sysfs: this.#o.sysfs,
      deviceTimeoutMs: this.#o.deviceTimeoutMs,
    };
  }

  container(id: string): Container {
    this.#sm.require('use', 'ready');
    checkId(id, 'container_id');
    const c = this.#containers.get(id);
    if (!c)
      throw new SandboxError(
        'not_found',
        'ERR_SANDBOX_NOT_FOUND',
        `container ${id} does not exist`,
      );
    return c;
  }

  process(containerId: string, execId: string): ContainerProcess {
    const c = this.container(containerId);
    if (execId !== '') checkId(execId, 'exec_id');
    return c.process(execId);
  }

  containerIds(): string[] {
    return [...this.#containers.keys()];
  }

  async createContainer(
    id: string,
    spec: ContainerSpec,
    storages: readonly StorageSpec[],
    signal?: AbortSignal,
  ): Promise<Container> {
    this.#sm.require('create a container in', 'ready');
    checkId(id, 'container_id');
    if (this.#containers.has(id) || this.#busy.has(id))
      throw new SandboxError(
        'already_exists',
        'ERR_SANDBOX_EXISTS',
        `container ${id} already exists`,
      );
    if (this.#containers.size >= MAX_CONTAINERS)
      throw new SandboxError(
        'resource_exhausted',
        'ERR_SANDBOX_INVALID',
        `sandbox already has ${MAX_CONTAINERS} containers`,
      );
    this.#busy.add(id);
    const mounted: MountedStorage[] = [];
    try {
      const isSandbox = CONTAINER_TYPE_KEYS.some((k) => spec.annotations[k] === 'sandbox');
      if (isSandbox && this.#sandboxContainer !== undefined)
        throw invalidInput(
          `container ${id}: the sandbox container ${this.#sandboxContainer} exists already`,
        );
      this.#checkMounts(spec, storages);
      for (const s of storages)
        mounted.push(await mountStorage(s, this.#storageOptions(id), signal));
      const oci = await this.#ociOptions(id, spec, storages, isSandbox);
      const cgroup = new ContainerCgroup(
        this.#o.cgroupRoot,
        this.#cgroupMode ?? 'v2',
        `${this.#o.cgroupBase}/${this.#params?.sandboxId ?? 'sandbox'}/${id}`,
      );
      const c = new Container({
        id,
        spec,
        bundleDir: join(this.#o.runDir, 'containers', id),
        oci: { ...oci, cgroupsPath: cgroup.crunPath },
        storages: mounted,
        cgroup,
        crun: this.#crun,
        mounter: this.#o.mounter,
        log: this.#o.log.child({ container_id: id }),
        startTimeoutMs: this.#o.startTimeoutMs,
      });
      await c.prepare();
      this.#containers.set(id, c);
      if (isSandbox) this.#sandboxContainer = id;
      return c;
    } catch (err) {
      for (const m of mounted.reverse()) await releaseStorage(m, this.#o.mounter);
      throw err;
    } finally {
      this.#busy.delete(id);
    }
  }

  /** Bind mounts may only name agent-owned paths (host paths mean nothing here and are untrusted). */
  #checkMounts(spec: ContainerSpec, storages: readonly StorageSpec[]): void {
    for (const m of spec.mounts) {
      checkAbsolutePath(m.destination, `mounts[${m.destination}].destination`);
      const isBind = m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind');
      if (!isBind) continue;
      const src = checkAbsolutePath(m.source, `mounts[${m.destination}].source`);
      const declared =
        storages.some((s) => isWithin(src, s.mountPoint)) ||
        this.#storages.some((s) => isWithin(src, s.spec.mountPoint));
      if (!declared && !isWithin(src, this.#o.storageRoot))
        throw invalidInput(
          `mounts[${m.destination}].source: ${src} is not a storage of this sandbox (must be inside ${this.#o.storageRoot})`,
        );
    }
  }

  async #ociOptions(
    id: string,
    spec: ContainerSpec,
    storages: readonly StorageSpec[],
    isSandbox: boolean,
  ): Promise<Omit<OciConfigOptions, 'cgroupsPath'>> {
    const join: Partial<Record<'ipc' | 'uts' | 'pid', string>> = {};
    const pause = this.#sandboxContainer ? this.#containers.get(this.#sandboxContainer) : undefined;
    if (pause && pause.init.pid > 0 && pause.init.state === 'running') {
      join.ipc = `/proc/${pause.init.pid}/ns/ipc`;
      join.uts = `/proc/${pause.init.pid}/ns/uts`;
      if (this.#params?.sandboxPidns === true) join.pid = `/proc/${pause.init.pid}/ns/pid`;
    }
    const root = checkAbsolutePath(spec.rootPath, 'oci.Root.Path');
    if (storages.some((s) => s.mountPoint === root))
      return { rootfs: root, rootReadonly: spec.rootReadonly, joinNamespaces: join };
    if (isSandbox) {
      const pause = await this.#pauseProcess();
      return {
        rootfs: `${this.#o.pauseBundle}/rootfs`,
        rootReadonly: true,
        joinNamespaces: join,
        argsOverride: pause.args,
        envOverride: pause.env,
      };
    }
    throw invalidInput(
      `container ${id}: oci.Root.Path ${root} is not the mount point of any storage of the request`,
    );
  }

  /** The trusted pause bundle's args and env replace the host's for the sandbox container. */
  async #pauseProcess(): Promise<{ args: string[]; env: string[] | undefined }> {
    const isStrings = (v: unknown): v is string[] =>
      Array.isArray(v) && v.every((a) => typeof a === 'string');
    let config: { process?: { args?: unknown; env?: unknown } };
    try {
      config = JSON.parse(await readFile(join(this.#o.pauseBundle, 'config.json'), 'utf8')) as {
        process?: { args?: unknown; env?: unknown };
      };
    } catch (err) {
      throw new SandboxError(
        'internal',
        'ERR_SANDBOX_RUNTIME',
        `cannot read the pause bundle ${this.#o.pauseBundle}: ${String(err)}`,
      );
    }
    const { args, env } = config.process ?? {};
    if (isStrings(args) && args.length > 0) return { args, env: isStrings(env) ? env : undefined };
    throw new SandboxError(
      'internal',
      'ERR_SANDBOX_RUNTIME',
      `pause bundle ${this.#o.pauseBundle} has no process.args`,
    );
  }

  async startContainer(id: string, signal?: AbortSignal): Promise<Container> {
    const c = this.container(id);
    await c.start(signal);
    void c.init.wait().then(() => void this.#oom.check(c));
    return c;
  }

  async removeContainer(id: string): Promise<void> {
    const c = this.container(id);
    if (this.#busy.has(id))
      throw new SandboxError(
        'failed_precondition',
        'ERR_SANDBOX_STATE',
        `container ${id} is being removed`,
      );
    this.#busy.add(id);
    try {
      await this.#oom.check(c);
      await c.destroy();
    } finally {
      this.#containers.delete(id);
      this.#busy.delete(id);
      if (this.#sandboxContainer === id) this.#sandboxContainer = undefined;
    }
  }

  /**
   * Waits for a process to exit (WaitProcess). For an init, its OOM kills are queued first and a
   * pending GetOOMEvent gets to answer before this returns, so the host sees TaskOOM before the
   * exit; an exec is forgotten (its output stays readable until drained).
   */
  async waitProcess(
    containerId: string,
    execId: string,
    signal?: AbortSignal,
  ): Promise<ExitStatus> {
    const c = this.container(containerId);
    const exit = await c.process(execId).wait(signal);
    if (execId !== '') {
      c.forgetExec(execId);
      return exit;
    }
    await this.#oom.check(c);
    await new Promise((resolve) => setImmediate(resolve));
    return exit;
  }

  /** Waits for the next container OOM kill and returns the container id (GetOOMEvent). */
  nextOomEvent(signal?: AbortSignal): Promise<string> {
    return this.#oom.next(signal);
  }

  /** Removes every container (non-sandbox ones first) and the sandbox storages. */
  async destroy(): Promise<void> {
    if (this.#sm.is('destroyed')) return;
    this.#oom.stop();
    const ids = this.containerIds().sort(
      (a, b) => Number(a === this.#sandboxContainer) - Number(b === this.#sandboxContainer),
    );
    const errors: string[] = [];
    for (const id of ids) {
      try {
        await this.removeContainer(id);
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }
    for (const s of this.#storages.reverse())
      errors.push(...(await releaseStorage(s, this.#o.mounter)));
    this.#storages = [];
    if (this.#params && this.#cgroupMode)
      await removeCgroupPath(
        this.#o.cgroupRoot,
        this.#cgroupMode,
        `${this.#o.cgroupBase}/${this.#params.sandboxId}`,
      );
    this.#sm.move('destroyed');
    if (errors.length > 0)
      throw new SandboxError(
        'internal',
        'ERR_SANDBOX_STORAGE',
        `sandbox destroyed with errors: ${errors.join('; ')}`,
      );
  }
}
