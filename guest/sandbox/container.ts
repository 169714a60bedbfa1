import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateMachine, type Logger } from '#src/lib/index.js';
import type { ContainerCgroup } from './cgroup.js';
import { ContainerProcess, type ProcessState } from './container-process.js';
import type { Crun } from './crun.js';
import { SandboxError } from './errors.js';
import type { Mounter } from './mounter.js';
import { buildOciConfig, ociProcess, type OciConfigOptions } from './oci-config.js';
import { releaseStorage, type MountedStorage } from './storage.js';
import type { ContainerSpec, ContainerStats, ProcessSpec, Resources } from './types.js';

export type ContainerState = 'created' | 'running' | 'paused' | 'stopped' | 'deleted';

const CONTAINER_TRANSITIONS = {
  created: ['running', 'stopped', 'deleted'],
  running: ['paused', 'stopped'],
  paused: ['running', 'stopped'],
  stopped: ['deleted'],
  deleted: [],
} as const satisfies Record<ContainerState, readonly ContainerState[]>;

/** Upper bound of exec processes per container (a hostile host could otherwise exhaust pids). */
export const MAX_EXEC_PROCESSES = 256;

export interface ContainerOptions {
  readonly id: string;
  readonly spec: ContainerSpec;
  readonly bundleDir: string;
  readonly oci: OciConfigOptions;
  readonly storages: readonly MountedStorage[];
  readonly cgroup: ContainerCgroup;
  readonly crun: Crun;
  readonly mounter: Mounter;
  readonly log: Logger;
  readonly startTimeoutMs: number;
}

/**
 * One container: OCI bundle on disk, storages, cgroup, the init process (`crun run`, launched
 * by `start`) and exec processes (`crun exec`).
 */
export class Container {
  readonly id: string;
  readonly spec: ContainerSpec;
  readonly bundleDir: string;
  readonly cgroup: ContainerCgroup;
  readonly init: ContainerProcess;
  readonly #o: ContainerOptions;
  readonly #sm: StateMachine<ContainerState>;
  readonly #execs = new Map<string, ContainerProcess>();
  /** Exited execs already reported by WaitProcess whose output the host has not read to the end. */
  readonly #draining = new Map<string, ContainerProcess>();
  #oomKills = 0;
  #resources: Resources | undefined;

  constructor(o: ContainerOptions) {
    this.id = o.id;
    this.spec = o.spec;
    this.#resources = o.spec.linux.resources;
    this.bundleDir = o.bundleDir;
    this.cgroup = o.cgroup;
    this.#o = o;
    this.#sm = new StateMachine(
      `container ${o.id}`,
      'created',
      CONTAINER_TRANSITIONS,
      'ERR_SANDBOX_STATE',
    );
    this.init = new ContainerProcess({
      containerId: o.id,
      execId: '',
      spec: o.spec.process,
      log: o.log,
    });
  }

  get state(): ContainerState {
    return this.#sm.state;
  }

  /** Writes config.json and prepares the cgroup; the process starts with `start`. */
  async prepare(): Promise<void> {
    await mkdir(this.bundleDir, { recursive: true, mode: 0o700 });
    await this.#writeConfig();
    await this.cgroup.create();
    await this.cgroup.applyMemory(this.spec.linux.resources);
  }

  async start(signal?: AbortSignal): Promise<void> {
    this.#sm.require('start', 'created');
    const pidFile = join(this.bundleDir, 'init.pid');
    const logFile = join(this.bundleDir, 'crun-init.log');
    await this.init.start(
      {
        spawn: () =>
          this.#o.crun.launch(['run', '--bundle', this.bundleDir, '--pid-file', pidFile, this.id], {
            terminal: this.spec.process.terminal,
            logFile,
          }),
        pidFile,
        readLog: () => this.#o.crun.readLog(logFile),
        timeoutMs: this.#o.startTimeoutMs,
      },
      signal,
    );
    if (this.init.state === 'running') this.#sm.move('running');
    else this.#sm.move('stopped');
    void this.init.wait().then(() => {
      if (this.#sm.canMove('stopped')) this.#sm.move('stopped');
    });
  }

  process(execId: string): ContainerProcess {
    if (execId === '') return this.init;
    const p = this.#execs.get(execId) ?? this.#draining.get(execId);
    if (!p)
      throw new SandboxError(
        'not_found',
        'ERR_SANDBOX_NOT_FOUND',
        `container ${this.id} has no process ${execId}`,
      );
    return p;
  }

  async exec(execId: string, spec: ProcessSpec, signal?: AbortSignal): Promise<ContainerProcess> {
    this.#sm.require('exec a process in', 'running');
    if (this.#execs.has(execId))
      throw new SandboxError(
        'already_exists',
        'ERR_SANDBOX_EXISTS',
        `container ${this.id} already has process ${execId}`,
      );
    this.#draining.get(execId)?.markDeleted();
    this.#draining.delete(execId);
    if (this.#execs.size + this.#draining.size >= MAX_EXEC_PROCESSES)
      throw new SandboxError(
        'resource_exhausted',
        'ERR_SANDBOX_INVALID',
        `container ${this.id} has ${MAX_EXEC_PROCESSES} exec processes already`,
      );
    const p = new ContainerProcess({
      containerId: this.id,
      execId,
      spec,
      log: this.#o.log,
    });
    this.#execs.set(execId, p);
    const processFile = join(this.bundleDir, `exec-${execId}.json`);
    const pidFile = join(this.bundleDir, `exec-${execId}.pid`);
    const logFile = join(this.bundleDir, `crun-exec-${execId}.log`);
    try {
      await this.#removeExecFiles(execId);
      await writeFile(processFile, JSON.stringify(ociProcess(spec)));
      await p.start(
        {
          spawn: () =>
            this.#o.crun.launch(
              ['exec', '--process', processFile, '--pid-file', pidFile, this.id],
              {
                terminal: spec.terminal,
                logFile,
              },
            ),
          pidFile,
          readLog: () => this.#o.crun.readLog(logFile),
          timeoutMs: this.#o.startTimeoutMs,
        },
        signal,
      );
    } catch (err) {
      this.#execs.delete(execId);
      throw err;
    }
    return p;
  }

  /**
   * Forgets an exec process after WaitProcess reported its exit (Kata does the same). Its output
   * stays readable until the host has read both streams to the end: WaitProcess and the reads
   * race, and the last bytes must not be lost.
   */
  forgetExec(execId: string): void {
    const p = this.#execs.get(execId);
    if (p?.state !== 'stopped') return;
    this.#execs.delete(execId);
    this.#draining.set(execId, p);
    void p.drained().then(async () => {
      p.markDeleted();
      if (this.#draining.get(execId) !== p) return;
      this.#draining.delete(execId);
      await this.#removeExecFiles(execId);
    });
  }

  async #removeExecFiles(execId: string): Promise<void> {
    for (const f of [`exec-${execId}.json`, `exec-${execId}.pid`, `crun-exec-${execId}.log`])
      await rm(join(this.bundleDir, f), { force: true }).catch(() => undefined);
  }

  execStates(): ReadonlyMap<string, ProcessState> {
    return new Map([...this.#execs].map(([id, p]) => [id, p.state]));
  }

  async pause(): Promise<void> {
    this.#sm.require('pause', 'running');
    await this.#o.crun.command(['pause', this.id]);
    this.#sm.move('paused');
  }

  async resume(): Promise<void> {
    this.#sm.require('resume', 'paused');
    await this.#o.crun.command(['resume', this.id]);
    this.#sm.move('running');
  }

  async update(resources: Resources): Promise<void> {
    this.#sm.require('update', 'created', 'running', 'paused');
    await this.cgroup.applyMemory(resources);
    const rest = { ...resources, memory: undefined };
    if (rest.cpu || rest.pids) {
      const file = join(this.bundleDir, 'update.json');
      const body: Record<string, unknown> = {};
      if (rest.cpu) body['cpu'] = rest.cpu;
      if (rest.pids) body['pids'] = rest.pids;
      await writeFile(file, JSON.stringify(body));
      if (this.#sm.is('created')) {
        // not launched yet: the limits go into config.json for crun run
        const old = this.#resources ?? {};
        this.#resources = { ...old, cpu: rest.cpu ?? old.cpu, pids: rest.pids ?? old.pids };
        await this.#writeConfig();
      } else {
        await this.#o.crun.command(['update', '--resources', file, this.id]);
      }
    }
  }

  async #writeConfig(): Promise<void> {
    const spec = { ...this.spec, linux: { ...this.spec.linux, resources: this.#resources } };
    await writeFile(
      join(this.bundleDir, 'config.json'),
      JSON.stringify(buildOciConfig(spec, this.#o.oci)),
    );
  }

  stats(): Promise<ContainerStats> {
    this.#sm.require('read stats of', 'running', 'paused', 'stopped');
    return this.cgroup.stats();
  }

  /** Newly observed OOM kills since the last call. */
  async newOomKills(): Promise<number> {
    const now = await this.cgroup.oomKills();
    const fresh = Math.max(0, now - this.#oomKills);
    this.#oomKills = Math.max(now, this.#oomKills);
    return fresh;
  }

  /** Process list: `json` is a JSON array of pids; `table` has a `PID CMD` line per process. */
  async listProcesses(format: 'json' | 'table'): Promise<Buffer> {
    const pids = this.#sm.is('running', 'paused') ? await this.cgroup.pids() : [];
    if (format === 'json') return Buffer.from(JSON.stringify(pids));
    const lines = ['PID CMD'];
    for (const pid of pids) {
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      lines.push(
        `${pid} ${cmd
          .split('\0')
          .filter((a) => a !== '')
          .join(' ')}`,
      );
    }
    return Buffer.from(lines.join('\n') + '\n');
  }

  #ownPidNamespace(): boolean {
    return (
      this.spec.linux.namespaces.some((ns) => ns.type === 'pid') &&
      this.#o.oci.joinNamespaces.pid === undefined
    );
  }

  /** Kills every process, deletes the crun container, releases storages and the bundle. */
  async destroy(): Promise<void> {
    if (this.#sm.is('deleted')) return;
    if (this.#sm.is('paused'))
      await this.#o.crun.command(['resume', this.id]).catch(() => undefined);
    if (this.init.state === 'running') {
      // SIGKILL to the init of a private pid namespace kills the namespace; otherwise ask crun
      // to kill every process of the cgroup (each crun spawn costs ~1 s under TCG).
      if (!this.#ownPidNamespace())
        await this.#o.crun.command(['kill', '--all', this.id, 'KILL']).catch(() => undefined);
      try {
        this.init.signal(9);
      } catch {
        // it exited between the check and the signal
      }
      await this.init.wait();
    }
    this.init.abandon();
    for (const p of this.#execs.values()) {
      if (p.state === 'running') p.killLauncher();
      p.abandon();
      p.markDeleted();
    }
    this.#execs.clear();
    for (const p of this.#draining.values()) p.markDeleted();
    this.#draining.clear();
    // `crun run` deletes its container when the init exits; only a killed or failed crun leaves it
    if (existsSync(join(this.#o.crun.options.stateDir, this.id)))
      await this.#o.crun.command(['delete', '--force', this.id]).catch(() => undefined);
    const errors: string[] = [];
    for (const s of [...this.#o.storages].reverse())
      errors.push(...(await releaseStorage(s, this.#o.mounter)));
    await this.cgroup.remove();
    if (this.#sm.canMove('stopped')) this.#sm.move('stopped');
    this.#sm.move('deleted');
    this.init.markDeleted();
    await rm(this.bundleDir, { recursive: true, force: true });
    if (errors.length > 0)
      throw new SandboxError(
        'internal',
        'ERR_SANDBOX_STORAGE',
        `container ${this.id} removed, but: ${errors.join('; ')}`,
      );
  }
}
