import { join } from 'node:path';
import { describeError, type Logger } from '#src/lib/index.js';
import type { StateStore } from '#src/host/persist/index.js';
import { mountRootfs, unmount } from '#src/host/resource/index.js';
import { RuntimeError, notFound } from './errors.js';
import { ExitReporter } from './exit-reporter.js';
import { openHostStdio } from './host-stdio.js';
import { readOciBundle, sandboxOf } from './oci-bundle.js';
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
import { PodState } from './pod-state.js';

export interface PodRuntimeOptions {
  readonly namespace: string;
  readonly store: StateStore;
  readonly backends: SandboxBackendFactory;
  readonly events: EventSink;
  readonly logger: Logger;
  readonly shimPid: number;
  readonly socketPath: string;
}

interface Container {
  readonly id: string;
  readonly bundle: string;
  readonly init: TaskProcess;
  readonly execs: Map<string, TaskProcess>;
  readonly isSandbox: boolean;
}

/**
 * The pod a shim serves: one sandbox backend (VM) and its containers and processes, with explicit
 * lifecycles, ordered events and persisted state.
 */
export class PodRuntime {
  readonly #o: PodRuntimeOptions;
  readonly #log: Logger;
  readonly #containers = new Map<string, Container>();
  #backend: SandboxBackend | undefined;
  #state: PodState | undefined;
  readonly #shutdown = new AbortController();
  readonly #exits: ExitReporter;

  constructor(options: PodRuntimeOptions) {
    this.#o = options;
    this.#log = options.logger.child({ subsystem: 'runtime' });
    this.#exits = new ExitReporter({
      events: options.events,
      logger: this.#log,
      signal: this.#shutdown.signal,
    });
  }

  #allProcesses(): TaskProcess[] {
    return [...this.#containers.values()].flatMap((c) => [...c.execs.values(), c.init]);
  }

  get containerCount(): number {
    return this.#containers.size;
  }

  get vmPid(): number {
    return this.#backend?.vmPid ?? 0;
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
    const mounts =
      spec.rootfs.length > 0 ? await mountRootfs(spec.rootfs, bundle.rootfsDir, signal) : [];
    const container: BackendContainer = {
      containerId: spec.containerId,
      bundle: spec.bundle,
      ociSpec: bundle.spec,
      rootfsDir: bundle.rootfsDir,
      terminal: spec.stdio.terminal || bundle.terminal,
      isSandbox,
    };
    try {
      if (this.#backend === undefined) {
        await this.#startSandbox(
          sandboxId,
          isSandbox,
          bundle.annotations,
          container,
          mounts,
          signal,
        );
      } else {
        this.#state?.addContainer(spec.containerId, spec.bundle, mounts);
        await this.#backend.createContainer(container, signal);
      }
    } catch (err) {
      for (const m of mounts) await unmount(m).catch(() => undefined);
      this.#state?.removeContainer(spec.containerId);
      if (this.#containers.size === 0) await this.#stopSandbox();
      throw err;
    }
    // the guest holds its own copy of the rootfs now: the host mount is no longer needed
    for (const m of mounts) await unmount(m).catch(() => undefined);
    const init = new TaskProcess(spec.containerId, '', spec.stdio, this.#log);
    this.#containers.set(spec.containerId, {
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

  async #startSandbox(
    sandboxId: string,
    isSandbox: boolean,
    annotations: Readonly<Record<string, string>>,
    first: BackendContainer,
    mounts: readonly string[],
    signal?: AbortSignal,
  ): Promise<void> {
    if (!isSandbox) {
      throw new RuntimeError(
        'failed_precondition',
        'ERR_RUNTIME_SANDBOX',
        `container ${first.containerId} belongs to sandbox ${sandboxId}, which this shim does not run`,
      );
    }
    const state = new PodState(
      this.#o.store,
      sandboxId,
      this.#o.namespace,
      this.#o.shimPid,
      this.#o.socketPath,
    );
    this.#state = state;
    state.addContainer(first.containerId, first.bundle, mounts);
    const backend = await this.#o.backends.start(
      { sandboxId, namespace: this.#o.namespace, annotations, stateDir: state.dir, first },
      signal,
    );
    this.#backend = backend;
    state.setVm(backend.vmPid, join(state.dir, 'vm'));
    void this.#exits.watchOom(backend, (id) => this.#containers.has(id));
    void backend.exited.then(() => this.#exits.vmExited(this.#allProcesses()));
  }

  #backendOrThrow(): SandboxBackend {
    if (this.#backend === undefined) {
      throw new RuntimeError(
        'failed_precondition',
        'ERR_RUNTIME_SANDBOX',
        'the sandbox is not running',
      );
    }
    return this.#backend;
  }

  #container(id: string): Container {
    const c = this.#containers.get(id);
    if (c === undefined) throw notFound(`container ${id}`);
    return c;
  }

  #process(containerId: string, execId: string): TaskProcess {
    const c = this.#container(containerId);
    if (execId === '') return c.init;
    const p = c.execs.get(execId);
    if (p === undefined) throw notFound(`exec ${execId} of container ${containerId}`);
    return p;
  }

  async start(containerId: string, execId: string, signal?: AbortSignal): Promise<number> {
    const p = this.#process(containerId, execId);
    p.lifecycle.require('start', 'created');
    const backend = this.#backendOrThrow();
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
    const pending = this.#pendingExecs.get(p);
    if (pending === undefined) throw notFound(`exec ${p.execId}`);
    p.pid = await backend.execProcess(p.containerId, p.execId, pending, p.stdio.terminal, signal);
    this.#pendingExecs.delete(p);
  }

  readonly #pendingExecs = new Map<TaskProcess, unknown>();

  exec(spec: ExecSpec): void {
    const c = this.#container(spec.containerId);
    if (spec.execId === '' || c.execs.has(spec.execId)) {
      throw new RuntimeError(
        'already_exists',
        'ERR_RUNTIME_EXISTS',
        `exec ${spec.execId} already exists in ${spec.containerId}`,
      );
    }
    c.init.lifecycle.require('exec in', 'running');
    const p = new TaskProcess(spec.containerId, spec.execId, spec.stdio, this.#log);
    this.#pendingExecs.set(p, spec.process);
    c.execs.set(spec.execId, p);
    this.#o.events.publish({
      type: 'exec-added',
      containerId: spec.containerId,
      execId: spec.execId,
    });
  }

  state(containerId: string, execId: string): ProcessInfo {
    const c = this.#container(containerId);
    const p = this.#process(containerId, execId);
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
    const p = this.#process(containerId, execId);
    if (p.lifecycle.is('stopped', 'deleted'))
      throw notFound(`process ${containerId}/${execId || 'init'} (already finished)`);
    if (p.lifecycle.is('created')) {
      // nothing runs yet: the process simply never starts
      await this.#exits.report(p, 128 + sig);
      return;
    }
    await this.#backendOrThrow().signalProcess(containerId, execId, sig, all, signal);
  }

  wait(containerId: string, execId: string, signal?: AbortSignal): Promise<ExitInfo> {
    return this.#process(containerId, execId).wait(signal);
  }

  async closeIo(containerId: string, execId: string): Promise<void> {
    await this.#process(containerId, execId).closeStdin();
  }

  async resizePty(
    containerId: string,
    execId: string,
    width: number,
    height: number,
  ): Promise<void> {
    await this.#process(containerId, execId).resize(width, height);
  }

  async pids(containerId: string, signal?: AbortSignal): Promise<number[]> {
    this.#container(containerId);
    return this.#backendOrThrow().pids(containerId, signal);
  }

  async pause(containerId: string, signal?: AbortSignal): Promise<void> {
    const c = this.#container(containerId);
    c.init.lifecycle.require('pause', 'running');
    await this.#backendOrThrow().pauseContainer(containerId, signal);
    c.init.lifecycle.move('paused');
    this.#o.events.publish({ type: 'paused', containerId });
  }

  async resume(containerId: string, signal?: AbortSignal): Promise<void> {
    const c = this.#container(containerId);
    c.init.lifecycle.require('resume', 'paused');
    await this.#backendOrThrow().resumeContainer(containerId, signal);
    c.init.lifecycle.move('running');
    this.#o.events.publish({ type: 'resumed', containerId });
  }

  async update(containerId: string, resources: unknown, signal?: AbortSignal): Promise<void> {
    this.#container(containerId).init.lifecycle.require('update', 'running', 'paused', 'created');
    await this.#backendOrThrow().updateContainer(containerId, resources, signal);
  }

  async stats(containerId: string, signal?: AbortSignal): Promise<ContainerStats> {
    this.#container(containerId);
    return this.#backendOrThrow().stats(containerId, signal);
  }

  async delete(containerId: string, execId: string, signal?: AbortSignal): Promise<ExitInfo> {
    const c = this.#container(containerId);
    const p = this.#process(containerId, execId);
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
    if (this.#backend && !c.isSandbox) {
      await this.#backend.removeContainer(containerId, signal).catch((err: unknown) => {
        this.#log.warn('remove container failed', {
          container_id: containerId,
          err: describeError(err),
        });
      });
    }
    this.#containers.delete(containerId);
    this.#state?.removeContainer(containerId);
    if (c.isSandbox || this.#containers.size === 0) await this.#stopSandbox();
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

  async #stopSandbox(): Promise<void> {
    this.#shutdown.abort();
    const backend = this.#backend;
    this.#backend = undefined;
    if (backend) {
      await backend.stop().catch((err: unknown) => {
        this.#log.warn('stopping the sandbox failed', { err: describeError(err) });
      });
    }
    this.#state?.remove();
    this.#state = undefined;
  }

  /** Stops everything (Shutdown with `now`, or a signal): used before the shim exits. */
  async close(): Promise<void> {
    for (const c of this.#containers.values()) {
      for (const p of [...c.execs.values(), c.init]) await p.closeIo();
    }
    this.#containers.clear();
    await this.#stopSandbox();
  }
}
