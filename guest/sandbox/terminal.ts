import { Readable } from 'node:stream';
import { ReadStream } from 'node:tty';
import { setWindowSize } from '#native/index.js';
import { CcError, describeError } from '#src/lib/index.js';
import { SandboxError } from './errors.js';

/** The terminal's end-of-file character (VEOF, ^D), sent when stdin is closed. */
const VEOF = 0x04;

/**
 * The agent's side of a container pty: the master fd received from crun. Output is a Readable
 * that ends when the last holder of the slave closes it (the kernel reports that as EIO on the
 * master, which is the normal end of a terminal, not a failure). Input goes to the same fd.
 */
export class Terminal {
  readonly #fd: number;
  readonly #stream: ReadStream;
  readonly #output: Readable;
  #inputClosed = false;
  #closed = false;

  constructor(masterFd: number) {
    this.#fd = masterFd;
    this.#stream = new ReadStream(masterFd);
    const stream = this.#stream;
    this.#output = new Readable({
      read: () => {
        if (stream.isPaused()) stream.resume();
      },
    });
    stream.on('data', (chunk: Buffer) => {
      if (!this.#output.push(chunk)) stream.pause();
    });
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EIO') this.#output.destroy(err);
    });
    stream.on('close', () => {
      this.#closed = true;
      this.#output.push(null);
    });
  }

  /** Everything the container writes to its terminal. */
  get output(): Readable {
    return this.#output;
  }

  get isInputClosed(): boolean {
    return this.#inputClosed || this.#closed || this.#stream.destroyed;
  }

  /** Writes typed input; resolves once the kernel took it. */
  write(data: Uint8Array): Promise<void> {
    if (this.isInputClosed)
      return Promise.reject(
        new SandboxError('failed_precondition', 'ERR_SANDBOX_IO', 'terminal input is closed'),
      );
    return new Promise((resolve, reject) => {
      this.#stream.write(data, (err) => {
        if (err)
          reject(
            new SandboxError(
              'unavailable',
              'ERR_SANDBOX_IO',
              `cannot write to the terminal: ${describeError(err)}`,
            ),
          );
        else resolve();
      });
    });
  }

  /**
   * Ends input the way a user does: one ^D (VEOF), which a reader in canonical mode sees as end of
   * file. The terminal stays open so the remaining output still flows; later writes fail.
   */
  closeInput(): void {
    if (this.isInputClosed) return;
    this.#stream.write(Buffer.of(VEOF), () => undefined);
    this.#inputClosed = true;
  }

  /** TIOCSWINSZ on the master; the kernel sends SIGWINCH to the foreground process group. */
  resize(rows: number, cols: number): void {
    // `destroyed` is set synchronously before the handle closes the fd, so while it is false the
    // fd is still ours (a closed fd number could already name another terminal)
    if (this.#closed || this.#stream.destroyed)
      throw new SandboxError('failed_precondition', 'ERR_SANDBOX_NO_TTY', 'terminal is closed');
    try {
      setWindowSize(this.#fd, rows, cols);
    } catch (err) {
      throw new SandboxError(
        err instanceof CcError ? err.kind : 'internal',
        'ERR_SANDBOX_NO_TTY',
        `cannot set the terminal size: ${describeError(err)}`,
        { cause: err },
      );
    }
  }

  /** Closes the master (the container's session gets SIGHUP if it still runs). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stream.destroy();
  }
}
