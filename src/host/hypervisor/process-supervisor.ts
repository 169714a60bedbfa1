import { spawn, type ChildProcess } from 'node:child_process';
import { ByteRing, deferred, isSystemError, NULL_LOGGER, type Logger } from '#src/lib/index.js';
import { HypervisorError } from './errors.js';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnSupervisedOptions {
  readonly cwd?: string | undefined;
  /** The child's whole environment (default: empty but PATH). */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Bytes of stderr kept for error messages (default 16 KiB). */
  readonly stderrTailBytes?: number | undefined;
  readonly logger?: Logger | undefined;
}

export interface CloseOptions {
  /** Time between SIGTERM and SIGKILL (default 5 s). */
  readonly graceMs?: number | undefined;
}

export function describeExit(e: ExitInfo): string {
  return e.signal !== null ? `signal ${e.signal}` : `exit code ${String(e.code)}`;
}

/**
 * One child process: spawned with an argv array (never a shell), stderr tail kept in a ring,
 * `exited` resolving once, and `close()` escalating SIGTERM → SIGKILL; close is idempotent.
 */
export class SupervisedProcess {
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  readonly #child: ChildProcess;
  readonly #stderr: ByteRing;
  #exit: ExitInfo | undefined;
  #closing: Promise<ExitInfo> | undefined;

  private constructor(
    child: ChildProcess,
    pid: number,
    stderr: ByteRing,
    exited: Promise<ExitInfo>,
  ) {
    this.#child = child;
    this.pid = pid;
    this.#stderr = stderr;
    this.exited = exited;
    void exited.then((e) => {
      this.#exit = e;
    });
  }

  /** Spawns `binary args…`; rejects (ERR_PROCESS_SPAWN) when the binary cannot be started. */
  static spawn(
    binary: string,
    args: readonly string[],
    options: SpawnSupervisedOptions = {},
  ): Promise<SupervisedProcess> {
    const log = options.logger ?? NULL_LOGGER;
    const stderr = new ByteRing(options.stderrTailBytes ?? 16384);
    const child = spawn(binary, [...args], {
      cwd: options.cwd,
      env: options.env ?? { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: false,
    });
    const exit = deferred<ExitInfo>();
    child.stderr.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
    });
    const started = deferred<SupervisedProcess>();
    child.once('spawn', () => {
      const pid = child.pid ?? -1;
      log.debug('process spawned', { pid, binary });
      started.resolve(new SupervisedProcess(child, pid, stderr, exit.promise));
    });
    child.once('error', (err) => {
      if (child.pid === undefined) {
        const kind = isSystemError(err, 'ENOENT')
          ? 'not_found'
          : isSystemError(err, 'EACCES')
            ? 'permission_denied'
            : 'internal';
        started.reject(
          new HypervisorError(kind, 'ERR_PROCESS_SPAWN', `cannot start ${binary}: ${err.message}`, {
            cause: err,
          }),
        );
      } else log.warn('process error', { pid: child.pid, error: err });
    });
    child.once('close', (code, signal) => {
      log.debug('process exited', { pid: child.pid, code, signal });
      exit.resolve({ code, signal });
    });
    return started.promise;
  }

  get hasExited(): boolean {
    return this.#exit !== undefined;
  }

  /** The last `lines` lines the process wrote to stderr. */
  stderrTail(lines = 20): string[] {
    return this.#stderr.lines(lines);
  }

  /** Sends a signal unless the process has exited. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (
      this.#exit === undefined &&
      this.#child.exitCode === null &&
      this.#child.signalCode === null
    )
      this.#child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit. Idempotent. */
  close(options: CloseOptions = {}): Promise<ExitInfo> {
    this.#closing ??= this.#terminate(options.graceMs ?? 5000);
    return this.#closing;
  }

  async #terminate(graceMs: number): Promise<ExitInfo> {
    if (this.#exit !== undefined) return this.#exit;
    this.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.kill('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return this.exited;
  }
}
