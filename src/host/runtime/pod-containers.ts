import { RuntimeError, notFound } from './errors.js';
import { TaskProcess } from './task-process.js';
import type { ExecSpec } from './types.js';
import type { Logger } from '#src/lib/index.js';

/** One container of the pod: its init process and its execs. */
export interface PodContainer {
  readonly id: string;
  readonly bundle: string;
  readonly init: TaskProcess;
  readonly execs: Map<string, TaskProcess>;
  readonly isSandbox: boolean;
}

/**
 * The pod's container and process table: lookups that answer `not_found` for unknown ids, and the
 * OCI process of each exec that was added but not started yet.
 */
export class PodContainers {
  readonly #containers = new Map<string, PodContainer>();
  readonly #pendingExecs = new Map<TaskProcess, unknown>();

  get size(): number {
    return this.#containers.size;
  }

  has(containerId: string): boolean {
    return this.#containers.has(containerId);
  }

  values(): IterableIterator<PodContainer> {
    return this.#containers.values();
  }

  add(c: PodContainer): void {
    this.#containers.set(c.id, c);
  }

  delete(containerId: string): void {
    this.#containers.delete(containerId);
  }

  clear(): void {
    this.#containers.clear();
  }

  /** Every process of every container, execs before their container's init. */
  allProcesses(): TaskProcess[] {
    return [...this.#containers.values()].flatMap((c) => [...c.execs.values(), c.init]);
  }

  container(containerId: string): PodContainer {
    const c = this.#containers.get(containerId);
    if (c === undefined) throw notFound(`container ${containerId}`);
    return c;
  }

  /** The init process (`execId` '') or an exec of the container. */
  process(containerId: string, execId: string): TaskProcess {
    const c = this.container(containerId);
    if (execId === '') return c.init;
    const p = c.execs.get(execId);
    if (p === undefined) throw notFound(`exec ${execId} of container ${containerId}`);
    return p;
  }

  /** Registers a new exec of a running container; its OCI process waits for `takeExecProcess`. */
  addExec(spec: ExecSpec, log: Logger): TaskProcess {
    const c = this.container(spec.containerId);
    if (spec.execId === '' || c.execs.has(spec.execId)) {
      throw new RuntimeError(
        'already_exists',
        'ERR_RUNTIME_EXISTS',
        `exec ${spec.execId} already exists in ${spec.containerId}`,
      );
    }
    c.init.lifecycle.require('exec in', 'running');
    const p = new TaskProcess(spec.containerId, spec.execId, spec.stdio, log);
    this.#pendingExecs.set(p, spec.process);
    c.execs.set(spec.execId, p);
    return p;
  }

  /** The OCI process `addExec` recorded for `p` (not_found if it was started already). */
  execProcess(p: TaskProcess): unknown {
    const pending = this.#pendingExecs.get(p);
    if (pending === undefined) throw notFound(`exec ${p.execId}`);
    return pending;
  }

  /** Forgets the OCI process of a started exec. */
  execStarted(p: TaskProcess): void {
    this.#pendingExecs.delete(p);
  }
}
