import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import {
  StateMachine,
  abortable,
  deferred,
  sleep,
  type Deferred,
  type Logger,
} from '#src/lib/index.js';
import type { ConsoleSocket } from './console-socket.js';
import { exitCode, type Launched } from './crun.js';
import { SandboxError } from './errors.js';
import { OutputBuffer } from './output-buffer.js';
import { Terminal } from './terminal.js';
import type { ExitStatus, ProcessSpec } from './types.js';

export type ProcessState = 'created' | 'running' | 'stopped' | 'deleted';

const PROCESS_TRANSITIONS = {
  created: ['running', 'stopped', 'deleted'],
  running: ['stopped'],
  stopped: ['deleted'],
  deleted: [],
} as const satisfies Record<ProcessState, readonly ProcessState[]>;

export type StreamName = 'stdout' | 'stderr';

/** A terminal dimension is a u16 in the kernel's `struct winsize`. */
export const MAX_WINDOW_SIZE = 0xffff;

export interface ProcessLaunch {
  /** Spawns the crun child (`crun run` for an init process, `crun exec` for the others). */
  readonly spawn: () => Launched;
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
  readonly #sm: StateMachine<ProcessState>;
  readonly #stdout: OutputBuffer;
  readonly #stderr: OutputBuffer;
  readonly #exit: Deferred<ExitStatus> = deferred();
  #child: ChildProcess | undefined;
  #terminal: Terminal | undefined;
  #pid = 0;
  #exitStatus: ExitStatus | undefined;

  constructor(options: ContainerProcessOptions) {
    this.containerId = options.containerId;
    this.execId = options.execId;
    this.spec = options.spec;
    this.#log = options.log;
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

  /**
   * Launches the process and resolves once crun reported its pid — and, for a terminal process,
   * sent the pty master — or fails with crun's log.
   */
  async start(launch: ProcessLaunch, signal?: AbortSignal): Promise<number> {
    this.#sm.require('start', 'created');
    const { child, console } = launch.spawn();
    this.#child = child;
    if (console) this.#stderr.end();
    else {
      this.#stdout.attach(child.stdout ?? failStream('stdout'));
      this.#stderr.attach(child.stderr ?? failStream('stderr'));
      child.stdin?.on('error', () => undefined);
    }
    const exited = exitCode(child);
    let pid: number;
    try {
      pid = await this.#awaitLaunch(launch, console, exited, signal);
    } catch (err) {
      child.kill('SIGKILL');
      this.#finish(await exited);
      throw err;
    } finally {
      console?.close();
    }
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

  /** Polls the pid file (and the console socket) until both arrived, crun exited or time ran out. */
  async #awaitLaunch(
    launch: ProcessLaunch,
    console: ConsoleSocket | undefined,
    exited: Promise<number>,
    signal?: AbortSignal,
  ): Promise<number> {
    const state = { done: false };
    void exited.then(() => {
      state.done = true;
    });
    const deadline = Date.now() + launch.timeoutMs;
    let pid = 0;
    for (;;) {
      const last = state.done;
      if (console && !this.#terminal) {
        const fd = console.poll();
        if (fd !== undefined) this.#attachTerminal(fd);
      }
      if (pid === 0) pid = await readPid(launch.pidFile);
      if (pid > 0 && (!console || this.#terminal)) return pid;
      // crun sends the terminal before the process runs: after its exit nothing more will come
      if (last) return console && !this.#terminal ? 0 : pid;
      if (Date.now() > deadline) {
        this.#log.warn('runtime did not report the process in time', {
          exec_id: this.execId,
          timeout_ms: launch.timeoutMs,
          pid_reported: pid > 0,
          terminal_sent: console === undefined || this.#terminal !== undefined,
        });
        this.#child?.kill('SIGKILL');
        await exited;
        return 0;
      }
      await sleep(5, signal);
    }
  }

  #attachTerminal(fd: number): void {
    const terminal = new Terminal(fd);
    this.#terminal = terminal;
    this.#stdout.attach(terminal.output);
    const size = this.spec.consoleSize;
    if (size) terminal.resize(size.rows, size.cols);
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

  /** Resolves once both output streams ended and were read to the end. */
  async drained(): Promise<void> {
    await Promise.all([this.#stdout.drained, this.#stderr.drained]);
  }

  read(stream: StreamName, len: number, signal?: AbortSignal): Promise<Buffer> {
    return (stream === 'stdout' ? this.#stdout : this.#stderr).read(len, signal);
  }

  async write(data: Uint8Array): Promise<number> {
    if (this.#terminal) {
      await this.#terminal.write(data);
      return data.length;
    }
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

  /** Closes stdin; on a terminal this is one ^D (the terminal itself stays open for output). */
  closeStdin(): void {
    if (this.#terminal) {
      this.#terminal.closeInput();
      return;
    }
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

  /** Sets the terminal size of a `terminal: true` process (TIOCSWINSZ on its pty master). */
  resize(rows: number, columns: number): void {
    for (const [name, v] of [
      ['rows', rows],
      ['columns', columns],
    ] as const)
      if (!Number.isInteger(v) || v < 0 || v > MAX_WINDOW_SIZE)
        throw new SandboxError(
          'invalid_argument',
          'ERR_SANDBOX_INVALID',
          `terminal ${name} must be an integer in 0..${MAX_WINDOW_SIZE}, got ${v}`,
        );
    if (!this.spec.terminal)
      throw new SandboxError(
        'unavailable',
        'ERR_SANDBOX_NO_TTY',
        `${this.#describe()} has no terminal`,
      );
    this.#sm.require('resize the terminal of', 'running');
    if (!this.#terminal)
      throw new SandboxError(
        'failed_precondition',
        'ERR_SANDBOX_NO_TTY',
        `the terminal of ${this.#describe()} is not open`,
      );
    this.#terminal.resize(rows, columns);
  }

  markDeleted(): void {
    if (!this.#sm.is('deleted')) this.#sm.move('deleted');
    this.#terminal?.close();
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
