import { closeSync, mkdirSync, rmSync } from 'node:fs';
import { isatty } from 'node:tty';
import { recvFd, unixAccept, unixListen } from '#native/index.js';
import { describeError } from '#src/lib/index.js';
import { SandboxError } from './errors.js';

/**
 * The receiving end of the OCI `--console-socket` protocol: a unix socket that crun connects to
 * once, sending the container's pty master as one SCM_RIGHTS fd (the payload, ignored, names the
 * pty). The socket is non-blocking and `poll()` never waits, so the launcher interleaves it with
 * its wait for the pid file and never ties up a thread. Anything else than exactly one terminal fd
 * is refused and every fd received is closed.
 */
export class ConsoleSocket {
  readonly path: string;
  #listenFd: number | undefined;
  #connFd: number | undefined;

  private constructor(path: string, listenFd: number) {
    this.path = path;
    this.#listenFd = listenFd;
  }

  /** Listens at `path` (a stale file there is replaced); its folder is created 0700. */
  static listen(path: string): ConsoleSocket {
    try {
      mkdirSync(path.slice(0, path.lastIndexOf('/')) || '/', { recursive: true, mode: 0o700 });
      rmSync(path, { force: true });
      return new ConsoleSocket(path, unixListen(path, { backlog: 1 }));
    } catch (err) {
      throw new SandboxError(
        'internal',
        'ERR_SANDBOX_NO_TTY',
        `cannot listen on console socket ${path}: ${describeError(err)}`,
        { cause: err },
      );
    }
  }

  /**
   * One non-blocking step: the pty master fd once crun has sent it (the caller then owns it),
   * undefined while it has not. Throws ERR_SANDBOX_NO_TTY when the peer sent something else.
   */
  poll(): number | undefined {
    if (this.#listenFd === undefined)
      throw new SandboxError('failed_precondition', 'ERR_SANDBOX_NO_TTY', 'console socket closed');
    this.#connFd ??= unixAccept(this.#listenFd);
    if (this.#connFd === undefined) return undefined;
    const got = recvFd(this.#connFd);
    if (got === undefined) return undefined;
    const [fd, ...extra] = got.fds;
    for (const e of extra) closeQuietly(e);
    const why = got.eof
      ? 'the runtime closed the console socket without sending a terminal'
      : fd === undefined
        ? 'the console socket message carried no file descriptor'
        : extra.length > 0 || got.truncated
          ? `the console socket message carried ${got.fds.length} file descriptors, expected 1`
          : !isatty(fd)
            ? 'the file descriptor received on the console socket is not a terminal'
            : undefined;
    if (why !== undefined) {
      if (fd !== undefined) closeQuietly(fd);
      this.close();
      throw new SandboxError('internal', 'ERR_SANDBOX_NO_TTY', `${why} (${this.path})`);
    }
    this.close();
    return fd;
  }

  /** Closes the sockets and removes the socket file (idempotent). */
  close(): void {
    if (this.#connFd !== undefined) closeQuietly(this.#connFd);
    if (this.#listenFd !== undefined) closeQuietly(this.#listenFd);
    if (this.#listenFd !== undefined) rmSync(this.path, { force: true });
    this.#connFd = undefined;
    this.#listenFd = undefined;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed: nothing to release
  }
}
