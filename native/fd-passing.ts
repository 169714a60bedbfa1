import { checkFd, checkU32 } from './check-args.js';
import { binding } from './native-binding.js';
import { NativeError, toSysError } from './native-error.js';

/** One recvmsg on a unix stream socket: the payload and every fd passed with it (SCM_RIGHTS). */
export interface ReceivedFds {
  /** Received fds, already close-on-exec; the caller owns (and must close) every one. */
  readonly fds: readonly number[];
  readonly data: Buffer;
  /** The peer closed the connection without sending anything. */
  readonly eof: boolean;
  /** The kernel dropped ancillary data or payload that did not fit (more than 16 fds). */
  readonly truncated: boolean;
}

/** sun_path holds 108 bytes including the terminating NUL. */
export const UNIX_PATH_MAX = 107;

function checkUnixPath(path: string): void {
  const bytes = Buffer.byteLength(path);
  if (bytes === 0 || bytes > UNIX_PATH_MAX || path.includes('\0')) {
    throw new NativeError(
      'invalid_argument',
      'ERR_NATIVE_ARGUMENT',
      `unix socket path must be 1..${UNIX_PATH_MAX} bytes without NUL, got ${bytes} bytes`,
    );
  }
}

/** socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK) + bind(path) + listen(backlog); returns the fd. */
export function unixListen(path: string, opts: { backlog?: number } = {}): number {
  const backlog = opts.backlog ?? 4;
  checkUnixPath(path);
  checkU32('backlog', backlog);
  const b = binding('unix listen');
  try {
    return b.unixListen(path, backlog);
  } catch (err) {
    throw toSysError(err, `unix listen on ${path}`);
  }
}

/** Non-blocking accept4(); the connected fd (non-blocking), or undefined when none is pending. */
export function unixAccept(listenFd: number): number | undefined {
  checkFd('fd', listenFd);
  const b = binding('unix accept');
  try {
    const fd = b.unixAccept(listenFd);
    return fd < 0 ? undefined : fd;
  } catch (err) {
    throw toSysError(err, 'unix accept');
  }
}

/**
 * Non-blocking recvmsg() of up to 4 KiB with the fds passed alongside (SCM_RIGHTS, at most 16);
 * undefined when nothing has arrived yet.
 */
export function recvFd(connFd: number): ReceivedFds | undefined {
  checkFd('fd', connFd);
  const b = binding('receive fd');
  try {
    return b.recvFd(connFd);
  } catch (err) {
    throw toSysError(err, 'receive fd');
  }
}

/** connect(path) + sendmsg(data, SCM_RIGHTS fds) + close: what `crun --console-socket` does. */
export function sendFd(path: string, fds: readonly number[], data: Uint8Array): void {
  checkUnixPath(path);
  if (fds.length > 16)
    throw new NativeError('invalid_argument', 'ERR_NATIVE_ARGUMENT', 'at most 16 fds per message');
  for (const fd of fds) checkFd('fd', fd);
  if (data.length === 0 || data.length > 4096)
    throw new NativeError('invalid_argument', 'ERR_NATIVE_ARGUMENT', 'data must be 1..4096 bytes');
  const b = binding('send fd');
  try {
    b.sendFd(path, [...fds], Buffer.from(data));
  } catch (err) {
    throw toSysError(err, `send fd to ${path}`);
  }
}
