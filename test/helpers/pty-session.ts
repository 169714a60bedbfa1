/**
 * Runs a program with a pseudo-terminal as its stdin/stdout/stderr (what `ctr run -t` insists on),
 * using the native addon's openPty: type into it, wait for text, read everything it printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { openPty, setWindowSize } from '#native/index.js';

export interface PtySessionOptions {
  readonly rows: number;
  readonly cols: number;
  readonly timeoutMs: number;
}

export class PtySession {
  readonly child: ChildProcess;
  readonly #master: ReadStream;
  readonly #masterFd: number;
  readonly #exited: Promise<number>;
  #output = '';
  #waiters: (() => void)[] = [];

  constructor(argv: readonly [string, ...string[]], o: PtySessionOptions) {
    const pty = openPty();
    this.#masterFd = pty.master;
    setWindowSize(pty.master, o.rows, o.cols);
    const [bin, ...args] = argv;
    this.child = spawn(bin, args, { stdio: [pty.slave, pty.slave, pty.slave] });
    closeSync(pty.slave);
    this.#master = new ReadStream(pty.master);
    this.#master.on('data', (b: Buffer) => {
      this.#output += b.toString('utf8');
      for (const w of this.#waiters.splice(0)) w();
    });
    this.#master.on('error', () => undefined); // EIO once the program and its children closed the slave
    const timer = setTimeout(() => this.child.kill('SIGKILL'), o.timeoutMs);
    this.#exited = new Promise((resolve) => {
      this.child.once('exit', (code, sig) => {
        clearTimeout(timer);
        resolve(code ?? 128 + (sig === 'SIGKILL' ? 9 : 15));
      });
    });
  }

  get output(): string {
    return this.#output;
  }

  type(text: string): void {
    this.#master.write(text);
  }

  /** Sets a new window size and tells the program, as a terminal emulator does. */
  resize(rows: number, cols: number): void {
    setWindowSize(this.#masterFd, rows, cols);
    this.child.kill('SIGWINCH');
  }

  /** Resolves once the output contains `pattern` after `from` (false when time ran out). */
  async waitFor(pattern: RegExp, timeoutMs: number, from = 0): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.#output.slice(from))) {
      const left = deadline - Date.now();
      if (left <= 0 || this.child.exitCode !== null) return pattern.test(this.#output.slice(from));
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 500));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  /** The exit code, then the master is closed. */
  async exited(): Promise<number> {
    const code = await this.#exited;
    await new Promise((r) => setTimeout(r, 100)); // last output
    this.#master.destroy();
    return code;
  }
}
