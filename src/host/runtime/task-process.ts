import {
  StateMachine,
  abortable,
  deferred,
  describeError,
  sleep,
  type Deferred,
  type Logger,
  type TransitionTable,
} from '#src/lib/index.js';
import type { BackendProcessIo } from './sandbox-backend.js';
import { writeChunk, type HostStdio } from './host-stdio.js';
import type { ExitInfo, ProcessStatus, StdioSpec } from './types.js';

export type ProcessState = 'created' | 'running' | 'paused' | 'stopped' | 'deleted';

export const PROCESS_TRANSITIONS: TransitionTable<ProcessState> = {
  created: ['running', 'stopped', 'deleted'],
  running: ['paused', 'stopped'],
  paused: ['running', 'stopped'],
  stopped: ['deleted'],
  deleted: [],
};

/** How long output may still drain after the guest reports an exit. */
const IO_DRAIN_MS = 3_000;

/** One process of a container (init: execId ''), its stdio pumps and its exit. */
export class TaskProcess {
  readonly containerId: string;
  readonly execId: string;
  readonly stdio: StdioSpec;
  readonly lifecycle: StateMachine<ProcessState>;
  pid = 0;
  readonly #exit: Deferred<ExitInfo> = deferred();
  #exitInfo: ExitInfo | undefined;
  #exiting: Promise<ExitInfo> | undefined;
  #host: HostStdio | undefined;
  #pumps: Promise<void>[] = [];
  #stdinChain: Promise<void> = Promise.resolve();
  #backendIo: BackendProcessIo | undefined;
  readonly #ioAbort = new AbortController();
  readonly #log: Logger;

  constructor(containerId: string, execId: string, stdio: StdioSpec, log: Logger) {
    this.containerId = containerId;
    this.execId = execId;
    this.stdio = stdio;
    const what = execId === '' ? `task ${containerId}` : `exec ${execId} of ${containerId}`;
    this.lifecycle = new StateMachine(what, 'created', PROCESS_TRANSITIONS, 'ERR_RUNTIME_STATE');
    this.#log = log.child({ container_id: containerId, exec_id: execId });
  }

  get exitInfo(): ExitInfo | undefined {
    return this.#exitInfo;
  }

  get status(): ProcessStatus {
    const s = this.lifecycle.state;
    return s === 'deleted' ? 'stopped' : s;
  }

  /** Connects the guest process's IO to the host stdio; output drains until the guest's EOF. */
  attachIo(io: BackendProcessIo, host: HostStdio): void {
    this.#host = host;
    this.#backendIo = io;
    const signal = this.#ioAbort.signal;
    const pump = async (
      read: (s: AbortSignal) => Promise<Uint8Array | undefined>,
      name: string,
    ) => {
      const target = name === 'stdout' ? host.stdout : host.stderr;
      try {
        for (;;) {
          const chunk = await read(signal);
          if (chunk === undefined) return;
          await writeChunk(target, chunk);
        }
      } catch (err) {
        if (!signal.aborted)
          this.#log.debug('output pump stopped', { stream: name, err: describeError(err) });
      }
    };
    this.#pumps.push(pump((s) => io.readStdout(s), 'stdout'));
    if (!this.stdio.terminal) this.#pumps.push(pump((s) => io.readStderr(s), 'stderr'));
    const stdin = host.stdin;
    if (stdin) {
      stdin.on('data', (chunk: Buffer) => {
        this.#stdinChain = this.#stdinChain
          .then(() => io.writeStdin(chunk, signal))
          .catch((err: unknown) => {
            this.#log.debug('stdin write failed', { err: describeError(err) });
          });
      });
      stdin.on('end', () => {
        void this.closeStdin();
      });
      stdin.on('error', () => undefined);
    }
  }

  /** CloseIO: the guest process sees end-of-file once pending stdin is written. */
  closeStdin(): Promise<void> {
    const io = this.#backendIo;
    this.#host?.stdin?.destroy();
    if (!io) return Promise.resolve();
    this.#stdinChain = this.#stdinChain
      .then(() => io.closeStdin())
      .catch((err: unknown) => {
        this.#log.debug('close stdin failed', { err: describeError(err) });
      });
    return this.#stdinChain;
  }

  resize(width: number, height: number): Promise<void> {
    return this.#backendIo?.resize(width, height) ?? Promise.resolve();
  }

  /**
   * Records the exit after output has drained (bounded) and closes the host's output ends, so
   * the reader sees end-of-file as it would from a runc process (CRI ExecSync waits for it);
   * returns the exit info.
   */
  exited(exitStatus: number): Promise<ExitInfo> {
    this.#exiting ??= this.#exited(exitStatus);
    return this.#exiting;
  }

  /** True once the exit is being recorded (so it is reported once). */
  get isExiting(): boolean {
    return this.#exiting !== undefined;
  }

  async #exited(exitStatus: number): Promise<ExitInfo> {
    await Promise.race([Promise.all(this.#pumps), sleep(IO_DRAIN_MS)]);
    await this.#host?.close();
    const info: ExitInfo = { pid: this.pid, exitStatus, exitedAt: new Date() };
    this.#exitInfo = info;
    if (this.lifecycle.canMove('stopped')) this.lifecycle.move('stopped');
    this.#exit.resolve(info);
    return info;
  }

  wait(signal?: AbortSignal): Promise<ExitInfo> {
    return abortable(this.#exit.promise, signal, 'wait');
  }

  /** Stops the pumps and closes host stdio (idempotent). */
  async closeIo(): Promise<void> {
    this.#ioAbort.abort();
    await this.#host?.close();
  }
}
