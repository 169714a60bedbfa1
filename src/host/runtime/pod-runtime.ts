import { describeError, type Logger } from '#src/lib/index.js';
import type { StateStore } from '#src/host/persist/index.js';
import { mountRootfs, unmount } from '#src/host/resource/index.js';
import { RuntimeError, notFound } from './errors.js';
import { ExitReporter } from './exit-reporter.js';
import { openHostStdio } from './host-stdio.js';
import { readOciBundle, sandboxOf } from './oci-bundle.js';
import { guestOciSpec } from './pod-annotations.js';
import { PodContainers } from './pod-containers.js';
import { PodSandbox } from './pod-sandbox.js';
import type { BackendContainer, SandboxBackend, SandboxBackendFactory } from './sandbox-backend.js';
import { TaskProcess } from './task-process.js';
import type {
  ContainerStats,
  CreateTaskSpec,
  EventSink,
  ExecSpec,
  ExitInfo,
  ProcessInfo,
} from './types.js';

export interface PodRuntimeOptions {
  readonly namespace: string;
  readonly store: StateStore;
  readonly backends: SandboxBackendFactory;
  readonly events: EventSink;
  readonly logger: Logger;
  readonly shimPid: number;
  readonly socketPath: string;
}

/**
 * The pod a shim serves: one sandbox backend (VM) and its containers and processes, with explicit
 * lifecycles, ordered events and persisted state.
 */
export class PodRuntime {
  readonly #o: PodRuntimeOptions;
  readonly #log: Logger;
  readonly #containers = new PodContainers();
  readonly #sandbox: PodSandbox;
  readonly #exits: ExitReporter;

  constructor(options: PodRuntimeOptions) {
    this.#o = options;
    this.#log = options.logger.child({ subsystem: 'runtime' });
    this.#sandbox = new PodSandbox({ ...options, logger: this.#log });
    this.#exits = new ExitReporter({
      events: options.events,
      logger: this.#log,
      signal: this.#sandbox.signal,
    });
  }

  get containerCount(): number {
    return this.#containers.size;
  }

  get vmPid(): number {
    return this.#sandbox.vmPid;
  }

  async create(spec: CreateTaskSpec, signal?: AbortSignal): Promise<number> {
    if (this.#containers.has(spec.containerId)) {
      throw new RuntimeError(
        'already_exists',
        'ERR_RUNTIME_EXISTS',
        `container ${spec.containerId} already exists`,
      );
    }
    const bundle = readOciBundle(spec.bundle);
    const { sandboxId, isSandbox } = sandboxOf(bundle, spec.containerId);
    // a guest-pull pod takes nothing of the image from the host: containerd's rootfs stays unmounted
    const hostRootfs = this.#o.backends.hostRootfs !== false;
    const mounts =
      hostRootfs && spec.rootfs.length > 0
        ? await mountRootfs(spec.rootfs, bundle.rootfsDir, signal)
        : [];
    const container: BackendContainer = {
      containerId: spec.containerId,
      bundle: spec.bundle,
      ociSpec: guestOciSpec(bundle.spec),
      rootfsDir: bundle.rootfsDir,
      terminal: spec.stdio.terminal || bundle.terminal,
      isSandbox,
    };
    try {
      if (this.#sandbox.backend === undefined) {
        const { annotations } = bundle;
        const started = await this.#sandbox.start(
          { sandboxId, isSandbox, annotations, first: container, mounts },
          signal,
        );
        this.#watch(started);
      } else {
        await this.#sandbox.createContainer(container, bundle.annotations, mounts, signal);
      }
    } catch (err) {
      for (const m of mounts) await unmount(m).catch(() => undefined);
      this.#sandbox.state?.removeContainer(spec.containerId);
      if (this.#containers.size === 0) await this.#sandbox.stop();
      throw err;
    }
    // the guest holds its own copy of the rootfs now: the host mount is no longer needed
    for (const m of mounts) await unmount(m).catch(() => undefined);
    const init = new TaskProcess(spec.containerId, '', spec.stdio, this.#log);
    this.#containers.add({
      id: spec.containerId,
      bundle: spec.bundle,
      init,
      execs: new Map(),
      isSandbox,
    });
    this.#o.events.publish({
      type: 'task-create',
      containerId: spec.containerId,
      bundle: spec.bundle,
      rootfs: spec.rootfs,
      stdio: spec.stdio,
      pid: 0,
    });
    return 0;
  }

  /** Watches the new sandbox for OOM kills and for the VM's death. */
  #watch(backend: SandboxBackend): void {
    void this.#exits.watchOom(backend, (id) => this.#containers.has(id));
    void backend.exited.then(() => this.#exits.vmExited(this.#containers.allProcesses()));
  }

  async start(containerId: string, execId: string, signal?: AbortSignal): Promise<number> {
    const p = this.#containers.process(containerId, execId);
    p.lifecycle.require('start', 'created');
    const backend = this.#sandbox.running();
    const host = await openHostStdio(p.stdio, {
      containerId,
      namespace: this.#o.namespace,
      logger: this.#log,
      signal,
    });
    try {
      p.pid = execId === '' ? await backend.startContainer(containerId, signal) : p.pid;
      if (execId !== '') await this.#startExec(backend, p, signal);
    } catch (err) {
      await host.close();
      throw err;
    }
    p.lifecycle.move('running');
    p.attachIo(backend.io(containerId, execId), host);
    if (execId === '') this.#o.events.publish({ type: 'task-start', containerId, pid: p.pid });
    else this.#o.events.publish({ type: 'exec-started', containerId, execId, pid: p.pid });
    void this.#exits.watchProcess(backend, p);
    return p.pid;
  }

  async #startExec(backend: SandboxBackend, p: TaskProcess, signal?: AbortSignal): Promise<void> {
    const process = this.#containers.execProcess(p);
    p.pid = await backend.execProcess(p.containerId, p.execId, process, p.stdio.terminal, signal);
    this.#containers.execStarted(p);
  }

  exec(spec: ExecSpec): void {
    this.#containers.addExec(spec, this.#log);
    this.#o.events.publish({
      type: 'exec-added',
      containerId: spec.containerId,
      execId: spec.execId,
    });
  }

  state(containerId: string, execId: string): ProcessInfo {
    const c = this.#containers.container(containerId);
    const p = this.#containers.process(containerId, execId);
    return {
      containerId,
      execId,
      bundle: c.bundle,
      pid: p.pid,
      status: p.status,
      stdio: p.stdio,
      exitStatus: p.exitInfo?.exitStatus ?? 0,
      exitedAt: p.exitInfo?.exitedAt,
    };
  }

  async kill(
    containerId: string,
    execId: string,
    sig: number,
    all: boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    const p = this.#containers.process(containerId, execId);
    if (p.lifecycle.is('stopped', 'deleted'))
      throw notFound(`process ${containerId}/${execId || 'init'} (already finished)`);
    if (p.lifecycle.is('created')) {
      // nothing runs yet: the process simply never starts
      await this.#exits.report(p, 128 + sig);
      return;
    }
    await this.#sandbox.running().signalProcess(containerId, execId, sig, all, signal);
  }

  wait(containerId: string, execId: string, signal?: AbortSignal): Promise<ExitInfo> {
    return this.#containers.process(containerId, execId).wait(signal);
  }

  async closeIo(containerId: string, execId: string): Promise<void> {
    await this.#containers.process(containerId, execId).closeStdin();
  }

  async resizePty(
    containerId: string,
    execId: string,
    width: number,
    height: number,
  ): Promise<void> {
    await this.#containers.process(containerId, execId).resize(width, height);
  }

  async pids(containerId: string, signal?: AbortSignal): Promise<number[]> {
    this.#containers.container(containerId);
    return this.#sandbox.running().pids(containerId, signal);
  }

  async pause(containerId: string, signal?: AbortSignal): Promise<void> {
    const c = this.#containers.container(containerId);
    c.init.lifecycle.require('pause', 'running');
    await this.#sandbox.running().pauseContainer(containerId, signal);
    c.init.lifecycle.move('paused');
    this.#o.events.publish({ type: 'paused', containerId });
  }

  async resume(containerId: string, signal?: AbortSignal): Promise<void> {
    const c = this.#containers.container(containerId);
    c.init.lifecycle.require('resume', 'paused');
    await this.#sandbox.running().resumeContainer(containerId, signal);
    c.init.lifecycle.move('running');
    this.#o.events.publish({ type: 'resumed', containerId });
  }

  async update(containerId: string, resources: unknown, signal?: AbortSignal): Promise<void> {
    this.#containers
      .container(containerId)
      .init.lifecycle.require('update', 'running', 'paused', 'created');
    await this.#sandbox.running().updateContainer(containerId, resources, signal);
  }

  async stats(containerId: string, signal?: AbortSignal): Promise<ContainerStats> {
    this.#containers.container(containerId);
    return this.#sandbox.running().stats(containerId, signal);
  }

  async delete(containerId: string, execId: string, signal?: AbortSignal): Promise<ExitInfo> {
    const c = this.#containers.container(containerId);
    const p = this.#containers.process(containerId, execId);
    if (p.lifecycle.is('running', 'paused')) {
      throw new RuntimeError(
        'failed_precondition',
        'ERR_RUNTIME_STATE',
        `cannot delete ${containerId}/${execId || 'init'}: it is ${p.lifecycle.state}`,
      );
    }
    if (p.lifecycle.is('created')) await this.#exits.report(p, 0).catch(() => undefined);
    await p.closeIo();
    p.lifecycle.move('deleted');
    const info = p.exitInfo ?? { pid: p.pid, exitStatus: 0, exitedAt: new Date() };
    if (execId !== '') {
      c.execs.delete(execId);
      return info;
    }
    for (const e of c.execs.values()) await e.closeIo();
    const backend = this.#sandbox.backend;
    if (backend && !c.isSandbox) {
      await backend.removeContainer(containerId, signal).catch((err: unknown) => {
        this.#log.warn('remove container failed', {
          container_id: containerId,
          err: describeError(err),
        });
      });
    }
    this.#containers.delete(containerId);
    this.#sandbox.state?.removeContainer(containerId);
    if (c.isSandbox || this.#containers.size === 0) await this.#sandbox.stop();
    this.#o.events.publish({
      type: 'task-delete',
      containerId,
      execId: '',
      pid: info.pid,
      exitStatus: info.exitStatus,
      exitedAt: info.exitedAt,
    });
    return info;
  }

  /** Stops everything (Shutdown with `now`, or a signal): used before the shim exits. */
  async close(): Promise<void> {
    for (const c of this.#containers.values()) {
      for (const p of [...c.execs.values(), c.init]) await p.closeIo();
    }
    this.#containers.clear();
    await this.#sandbox.stop();
  }
}
