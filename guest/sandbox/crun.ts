import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ByteRing, abortable } from '#src/lib/index.js';
import { ConsoleSocket } from './console-socket.js';
import { SandboxError } from './errors.js';

export interface CrunOptions {
  /** The crun binary (`/usr/bin/crun` in the guest). */
  readonly binary: string;
  /** crun's state directory (`--root`). */
  readonly stateDir: string;
  /** Folder of the console sockets of `terminal: true` launches (kept short: sun_path is 108 bytes). */
  readonly consoleDir: string;
}

export interface LaunchOptions {
  /** Run under a pseudo-terminal (the process spec asked for `terminal: true`). */
  readonly terminal: boolean;
  /** crun's own diagnostics go here instead of the container's stderr. */
  readonly logFile: string;
}

export interface Launched {
  readonly child: ChildProcess;
  /** For a terminal launch: where crun sends the pty master (`--console-socket`). */
  readonly console?: ConsoleSocket | undefined;
}

const STDERR_TAIL_BYTES = 4096;

/**
 * Runs crun. One-shot commands (`kill`, `delete`, `pause`, `ps`…) run to completion and fail with
 * ERR_SANDBOX_RUNTIME carrying crun's stderr; long-running ones (`run`, `exec`) are launched with
 * piped stdio and returned to the caller, who owns the child.
 */
export class Crun {
  readonly #options: CrunOptions;
  #consoles = 0;

  constructor(options: CrunOptions) {
    this.#options = options;
  }

  get options(): CrunOptions {
    return this.#options;
  }

  /** Runs `crun --root R <args>` to completion and returns its stdout. */
  async command(args: readonly string[], signal?: AbortSignal): Promise<string> {
    const child = spawn(this.#options.binary, ['--root', this.#options.stateDir, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(signal ? { signal } : {}),
    });
    const out: Buffer[] = [];
    const err = new ByteRing(STDERR_TAIL_BYTES);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => {
      err.push(c);
    });
    const code = await abortable(exitCode(child), signal, `crun ${args[0] ?? ''}`);
    if (code !== 0) {
      throw new SandboxError(
        'internal',
        'ERR_SANDBOX_RUNTIME',
        `crun ${args.join(' ')} failed with status ${code}: ${err.text().trim() || 'no output'}`,
      );
    }
    return Buffer.concat(out).toString('utf8');
  }

  /**
   * Launches `crun --log L --root R <command> [--console-socket S] <rest>`. A plain process gets
   * piped stdio; a terminal process gets a console socket on which crun sends the pty master, and
   * crun's own stdio is unused (its diagnostics go to the log).
   */
  launch(args: readonly [string, ...string[]], options: LaunchOptions): Launched {
    const [command, ...rest] = args;
    const head = ['--log', options.logFile, '--root', this.#options.stateDir, command];
    if (!options.terminal) {
      const child = spawn(this.#options.binary, [...head, ...rest], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      return { child };
    }
    const socket = ConsoleSocket.listen(join(this.#options.consoleDir, `${++this.#consoles}.sock`));
    try {
      const child = spawn(
        this.#options.binary,
        [...head, '--console-socket', socket.path, ...rest],
        { stdio: ['ignore', 'ignore', 'ignore'] },
      );
      return { child, console: socket };
    } catch (err) {
      socket.close();
      throw err;
    }
  }

  /** crun's diagnostics for a failed launch, from its log file (bounded). */
  async readLog(logFile: string): Promise<string> {
    try {
      const text = await readFile(logFile, 'utf8');
      return text.length > STDERR_TAIL_BYTES ? text.slice(-STDERR_TAIL_BYTES) : text;
    } catch {
      return '';
    }
  }
}

/** The exit status of a child in Kata's convention: the code, or 128 + signal number. */
export function exitCode(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) {
      resolve(child.exitCode);
      return;
    }
    child.once('error', () => {
      resolve(127);
    });
    child.once('exit', (code, sig) => {
      resolve(code ?? 128 + signalNumber(sig));
    });
  });
}

const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

export function signalNumber(name: string | null): number {
  return name === null ? 0 : (SIGNALS[name] ?? 0);
}
