import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import {
  StateMachine,
  abortable,
  deferred,
  sleep,
  type Deferred,
  type Logger,
} from '#src/lib/index.js';
import { exitCode } from './crun.js';
import { SandboxError } from './errors.js';
import { OutputBuffer } from './output-buffer.js';
import type { ExitStatus, ProcessSpec } from './types.js';

export type ProcessState = 'created' | 'running' | 'stopped' | 'deleted';

const PROCESS_TRANSITIONS = {
  created: ['running', 'stopped', 'deleted'],
  running: ['stopped'],
  stopped: ['deleted'],
  deleted: [],
} as const satisfies Record<ProcessState, readonly ProcessState[]>;

export type StreamName = 'stdout' | 'stderr';

export interface ProcessLaunch {
  /** Spawns the crun child (`crun run` for an init process, `crun exec` for the others). */
  readonly spawn: () => ChildProcess;
  readonly pidFile: string;
  /** Reads crun's diagnostics after a failed launch. */
  readonly readLog: () => Promise<string>;
  /** How long to wait for crun to report the process pid. */
  readonly timeoutMs: number;
}

export interface ContainerProcessOptions {
  readonly containerId: string;
  /** '' for the container's init process (Kata convention). */
  readonly execId: string;
  readonly spec: ProcessSpec;
  readonly log: Logger;
  /** `stty` used for TtyWinResize on the process terminal. */
  readonly sttyBinary: string;
  readonly outputBufferBytes?: number | undefined;
}

/**
 * One process of a container: its lifecycle, pid, stdio buffers and exit status. The process is
 * a child of the agent through crun (`crun run` / `crun exec` stay in the foreground), so its exit
 * status comes from the crun child's wait status.
 */
export class ContainerProcess {
  readonly containerId: string;
  readonly execId: string;
  readonly spec: ProcessSpec;
  readonly #log: Logger;
  readonly #stty: string;
  readonly #sm: StateMachine<ProcessState>;
  readonly #stdout: OutputBuffer;
  readonly #stderr: OutputBuffer;
  readonly #exit: Deferred<ExitStatus> = deferred();
  #child: ChildProcess | undefined;
  #pid = 0;
  #exitStatus: ExitStatus | undefined;

  constructor(options: ContainerProcessOptions) {
    this.containerId = options.containerId;
    this.execId = options.execId;
    this.spec = options.spec;
    this.#log = options.log;
    this.#stty = options.sttyBinary;
    const what =
      options.execId === ''
        ? `container ${options.containerId} init process`
        : `process ${options.execId} of container ${options.containerId}`;
    this.#sm = new StateMachine(what, 'created', PROCESS_TRANSITIONS, 'ERR_SANDBOX_STATE');
    this.#stdout = new OutputBuffer(options.outputBufferBytes);
    this.#stderr = new OutputBuffer(options.outputBufferBytes);
  }

  get state(): ProcessState {
    return this.#sm.state;
  }

  get pid(): number {
    return this.#pid;
  }

  get exitStatus(): ExitStatus | undefined {
    return this.#exitStatus;
  }

  /** Launches the process and resolves once crun reported its pid (or fails with crun's log). */
  async start(launch: ProcessLaunch, signal?: AbortSignal): Promise<number> {
    this.#sm.require('start', 'created');
    const child = launch.spawn();
    this.#child = child;
    this.#stdout.attach(child.stdout ?? failStream('stdout'));
    if (this.spec.terminal) this.#stderr.end();
    else this.#stderr.attach(child.stderr ?? failStream('stderr'));
    child.stdin?.on('error', () => undefined);
    const exited = exitCode(child);
    const pid = await this.#awaitPid(launch, exited, signal);
    if (pid === 0) {
      const text = (await launch.readLog()).trim();
      const status = await exited;
      this.#finish(status);
      throw new SandboxError(
        'internal',
        'ERR_SANDBOX_RUNTIME',
        `cannot start ${this.#describe()}: crun exited with status ${status}${text ? `: ${text}` : ''}`,
      );
    }
    this.#pid = pid;
    this.#sm.move('running');
    void exited.then((status) => {
      this.#finish(status);
    });
    return pid;
  }

  async #awaitPid(
    launch: ProcessLaunch,
    exited: Promise<number>,
    signal?: AbortSignal,
  ): Promise<number> {
    const state = { done: false };
    void exited.then(() => {
      state.done = true;
    });
    const deadline = Date.now() + launch.timeoutMs;
    for (;;) {
      const pid = await readPid(launch.pidFile);
      if (pid > 0) return pid;
      if (state.done) return readPid(launch.pidFile);
      if (Date.now() > deadline) {
        this.#child?.kill('SIGKILL');
        await exited;
        return 0;
      }
      await sleep(5, signal);
    }
  }

  #finish(status: number): void {
    if (this.#exitStatus) return;
    this.#exitStatus = { status, exitedAt: new Date() };
    if (this.#sm.canMove('stopped')) this.#sm.move('stopped');
    this.#log.debug('process exited', { exec_id: this.execId, status });
    this.#exit.resolve(this.#exitStatus);
  }

  /** Marks a never-started process stopped (its container was removed before start). */
  abandon(): void {
    if (this.#sm.is('created')) this.#finish(255);
  }

  #describe(): string {
    return this.execId === ''
      ? `container ${this.containerId}`
      : `process ${this.execId} of container ${this.containerId}`;
  }

  /** Resolves with the exit status once the process has exited. */
  wait(signal?: AbortSignal): Promise<ExitStatus> {
    return abortable(this.#exit.promise, signal, `wait for ${this.#describe()}`);
  }

  read(stream: StreamName, len: number, signal?: AbortSignal): Promise<Buffer> {
    return (stream === 'stdout' ? this.#stdout : this.#stderr).read(len, signal);
  }

  async write(data: Uint8Array): Promise<number> {
    const stdin = this.#child?.stdin;
    if (!stdin || stdin.writableEnded || stdin.destroyed)
      throw new SandboxError(
        'failed_precondition',
        'ERR_SANDBOX_IO',
        `stdin of ${this.#describe()} is closed`,
      );
    await new Promise<void>((resolve, reject) => {
      stdin.write(data, (err) => {
        if (err)
          reject(
            new SandboxError(
              'unavailable',
              'ERR_SANDBOX_IO',
              `cannot write stdin of ${this.#describe()}: ${err.message}`,
            ),
          );
        else resolve();
      });
    });
    return data.length;
  }

  closeStdin(): void {
    const stdin = this.#child?.stdin;
    if (stdin && !stdin.writableEnded) stdin.end();
  }

  /** Sends signal number `sig` to the process (never to a process that has exited). */
  signal(sig: number): void {
    this.#sm.require('signal', 'running');
    try {
      process.kill(this.#pid, sig);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'ESRCH') return;
      throw new SandboxError(
        'internal',
        'ERR_SANDBOX_RUNTIME',
        `cannot signal ${this.#describe()}: ${String(code)}`,
        { cause: err },
      );
    }
  }

  /** Sets the terminal size of a `terminal: true` process. */
  async resize(rows: number, columns: number): Promise<void> {
    if (!this.spec.terminal)
      throw new SandboxError(
        'unavailable',
        'ERR_SANDBOX_NO_TTY',
        `${this.#describe()} has no terminal`,
      );
    this.#sm.require('resize the terminal of', 'running');
    const child = spawn(
      this.#stty,
      ['-F', `/proc/${this.#pid}/fd/0`, 'rows', String(rows), 'cols', String(columns)],
      { stdio: 'ignore' },
    );
    const status = await exitCode(child);
    if (status !== 0)
      throw new SandboxError(
        'internal',
        'ERR_SANDBOX_NO_TTY',
        `cannot resize the terminal of ${this.#describe()}: stty exited with ${status}`,
      );
  }

  markDeleted(): void {
    if (!this.#sm.is('deleted')) this.#sm.move('deleted');
    this.#stdout.end();
    this.#stderr.end();
  }

  /** Kills the crun child itself (used on teardown). */
  killLauncher(): void {
    if (this.#child && this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }
}

async function readPid(path: string): Promise<number> {
  try {
    const n = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

function failStream(name: string): never {
  throw new SandboxError('internal', 'ERR_SANDBOX_IO', `crun child has no ${name} pipe`);
}
