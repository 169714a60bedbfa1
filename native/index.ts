/**
 * The only loader of the kata-cc native addon (native/build/Release/kata_cc_native.node). Callers
 * check isAvailable(); every function throws an `unavailable` NativeError when the addon is not built,
 * and a SysError (kind from errno) when the syscall fails.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CcError, kindOfErrno } from '#src/lib/index.js';
import type { ErrorKind } from '#src/lib/index.js';

export type NativeErrorCode =
  'ERR_NATIVE_UNAVAILABLE' | 'ERR_NATIVE_ARGUMENT' | 'ERR_NATIVE_SYSCALL';

export class NativeError extends CcError {
  declare readonly code: NativeErrorCode;
  constructor(kind: ErrorKind, code: NativeErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}

/** errnos the shared table does not know, as this addon meets them (a kernel without the feature). */
const NATIVE_KIND: Readonly<Record<string, ErrorKind>> = {
  EAFNOSUPPORT: 'unavailable',
  ESOCKTNOSUPPORT: 'unavailable',
  EPROTONOSUPPORT: 'unavailable',
  ENODEV: 'unavailable',
  EHOSTUNREACH: 'unavailable',
  EADDRINUSE: 'already_exists',
  EADDRNOTAVAIL: 'invalid_argument',
  EBADF: 'invalid_argument',
  ENOTTY: 'invalid_argument',
  ENOTSOCK: 'invalid_argument',
  ENAMETOOLONG: 'invalid_argument',
  ENODATA: 'not_found',
  ERANGE: 'invalid_argument',
  E2BIG: 'invalid_argument',
};

/** A failed syscall: `errnoCode` like `ECONNREFUSED`, `syscall` like `connect`. */
export class SysError extends NativeError {
  readonly errnoCode: string;
  readonly syscall: string;
  constructor(errnoCode: string, syscall: string, message: string, options?: ErrorOptions) {
    super(NATIVE_KIND[errnoCode] ?? kindOfErrno(errnoCode), 'ERR_NATIVE_SYSCALL', message, options);
    this.errnoCode = errnoCode;
    this.syscall = syscall;
  }
}

/** Any CID (bind), the host's CID. */
export const VMADDR_CID_ANY = 0xffffffff;
export const VMADDR_CID_HOST = 2;

export interface AcceptedVsock {
  readonly fd: number;
  readonly cid: number;
  readonly port: number;
}

interface Binding {
  vsockSupported(): number;
  vsockListen(cid: number, port: number, backlog: number): number;
  vsockConnect(cid: number, port: number): Promise<number>;
  vsockAccept(fd: number): Promise<AcceptedVsock>;
  shutdownFd(fd: number): void;
  unixListen(path: string, backlog: number): number;
  unixAccept(fd: number): number;
  recvFd(fd: number): ReceivedFds | undefined;
  sendFd(path: string, fds: number[], data: Buffer): void;
  openPty(): OpenedPty;
  setWindowSize(fd: number, rows: number, cols: number): void;
  getWindowSize(fd: number): WindowSize;
  lsetxattr(path: string, name: string, value: Buffer): void;
  lgetxattr(path: string, name: string): Buffer;
  llistxattr(path: string): string[];
  ioctl(
    fd: number,
    request: number,
    buffers: Buffer[],
    pointers: [number, number, number, number, number][],
  ): Promise<number>;
}

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

export interface OpenedPty {
  readonly master: number;
  readonly slave: number;
  /** The slave's path, like `/dev/pts/3`. */
  readonly name: string;
}

export interface WindowSize {
  readonly rows: number;
  readonly cols: number;
}

/** sun_path holds 108 bytes including the terminating NUL. */
export const UNIX_PATH_MAX = 107;

const ADDON = 'kata_cc_native.node';

function candidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  // native/index.ts, dist/*.mjs and dist/guest/*.mjs each find native/build from where they sit
  return [
    join(here, 'build', 'Release', ADDON),
    join(here, '..', 'native', 'build', 'Release', ADDON),
    join(here, '..', '..', 'native', 'build', 'Release', ADDON),
    join(here, ADDON),
  ];
}

let loaded: { binding?: Binding; reason?: string } | undefined;

function load(): { binding?: Binding; reason?: string } {
  if (loaded) return loaded;
  const path = candidates().find((p) => existsSync(p));
  if (!path) {
    loaded = { reason: 'native addon not built (run `npm run build:native`)' };
    return loaded;
  }
  try {
    loaded = { binding: createRequire(import.meta.url)(path) as Binding };
  } catch (err) {
    loaded = {
      reason: `native addon at ${path} failed to load: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  return loaded;
}

/** True when the addon is built and loads. */
export function isAvailable(): boolean {
  return load().binding !== undefined;
}

/** Why isAvailable() is false (empty when it is true). */
export function unavailableReason(): string {
  return load().reason ?? '';
}

function binding(what: string): Binding {
  const l = load();
  if (!l.binding)
    throw new NativeError(
      'unavailable',
      'ERR_NATIVE_UNAVAILABLE',
      `${what}: ${l.reason ?? 'native addon unavailable'}`,
    );
  return l.binding;
}

function checkU32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new NativeError(
      'invalid_argument',
      'ERR_NATIVE_ARGUMENT',
      `${name} must be a u32, got ${v}`,
    );
  }
}

function toSysError(err: unknown, what: string): CcError {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; syscall?: unknown };
    if (typeof e.code === 'string' && typeof e.syscall === 'string') {
      return new SysError(e.code, e.syscall, `${what}: ${e.syscall}: ${e.code}`, { cause: err });
    }
    return new NativeError('internal', 'ERR_NATIVE_SYSCALL', `${what}: ${err.message}`, {
      cause: err,
    });
  }
  return new NativeError('internal', 'ERR_NATIVE_SYSCALL', `${what}: ${String(err)}`);
}

/** True when the kernel has AF_VSOCK (false also when the addon is missing). */
export function vsockSupported(): boolean {
  const l = load();
  return l.binding !== undefined && l.binding.vsockSupported() === 0;
}

/** socket(AF_VSOCK) + bind(cid, port) + listen(backlog); returns the listening fd. */
export function vsockListen(port: number, opts: { cid?: number; backlog?: number } = {}): number {
  const cid = opts.cid ?? VMADDR_CID_ANY;
  const backlog = opts.backlog ?? 64;
  checkU32('cid', cid);
  checkU32('port', port);
  checkU32('backlog', backlog);
  const b = binding('vsock listen');
  try {
    return b.vsockListen(cid, port, backlog);
  } catch (err) {
    throw toSysError(err, `vsock listen on port ${port}`);
  }
}

/** socket(AF_VSOCK) + connect(cid, port) in the thread pool; returns the connected fd. */
export async function vsockConnect(cid: number, port: number): Promise<number> {
  checkU32('cid', cid);
  checkU32('port', port);
  const b = binding('vsock connect');
  try {
    return await b.vsockConnect(cid, port);
  } catch (err) {
    throw toSysError(err, `vsock connect to ${cid}:${port}`);
  }
}

/** accept4() on a listening vsock fd, in the thread pool. */
export async function vsockAccept(listenFd: number): Promise<AcceptedVsock> {
  checkU32('fd', listenFd);
  const b = binding('vsock accept');
  try {
    return await b.vsockAccept(listenFd);
  } catch (err) {
    throw toSysError(err, 'vsock accept');
  }
}

/** shutdown(SHUT_RDWR): wakes a thread blocked in accept() or read() on the fd. */
export function shutdownFd(fd: number): void {
  checkU32('fd', fd);
  try {
    binding('shutdown').shutdownFd(fd);
  } catch (err) {
    throw toSysError(err, `shutdown fd ${fd}`);
  }
}

function checkFd(name: string, fd: number): void {
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
    throw new NativeError(
      'invalid_argument',
      'ERR_NATIVE_ARGUMENT',
      `${name} must be a file descriptor, got ${fd}`,
    );
  }
}

function checkU16(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
    throw new NativeError(
      'invalid_argument',
      'ERR_NATIVE_ARGUMENT',
      `${name} must be an integer in 0..65535, got ${v}`,
    );
  }
}

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

/** posix_openpt + grantpt + unlockpt + open(slave, O_NOCTTY); both fds close-on-exec. */
export function openPty(): OpenedPty {
  const b = binding('open pty');
  try {
    return b.openPty();
  } catch (err) {
    throw toSysError(err, 'open pty');
  }
}

/** ioctl(TIOCSWINSZ): sets a terminal's size (the foreground process group gets SIGWINCH). */
export function setWindowSize(fd: number, rows: number, cols: number): void {
  checkFd('fd', fd);
  checkU16('rows', rows);
  checkU16('cols', cols);
  const b = binding('set window size');
  try {
    b.setWindowSize(fd, rows, cols);
  } catch (err) {
    throw toSysError(err, `set window size of fd ${fd}`);
  }
}

/** ioctl(TIOCGWINSZ). */
export function getWindowSize(fd: number): WindowSize {
  checkFd('fd', fd);
  const b = binding('get window size');
  try {
    return b.getWindowSize(fd);
  } catch (err) {
    throw toSysError(err, `get window size of fd ${fd}`);
  }
}

/** Largest xattr value Linux accepts (XATTR_SIZE_MAX). */
export const XATTR_SIZE_MAX = 65536;

function checkXattrArgs(path: string, name?: string): void {
  if (path === '' || path.includes('\0'))
    throw new NativeError(
      'invalid_argument',
      'ERR_NATIVE_ARGUMENT',
      'path must be non-empty without NUL',
    );
  if (name !== undefined && (name === '' || name.includes('\0') || Buffer.byteLength(name) > 255))
    throw new NativeError(
      'invalid_argument',
      'ERR_NATIVE_ARGUMENT',
      `xattr name must be 1..255 bytes without NUL, got ${JSON.stringify(name)}`,
    );
}

/** lsetxattr(2), flags 0: sets `name` on `path` itself (a final symlink is not followed). */
export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  checkXattrArgs(path, name);
  if (value.length > XATTR_SIZE_MAX)
    throw new NativeError(
      'invalid_argument',
      'ERR_NATIVE_ARGUMENT',
      `xattr ${name} on ${path}: value of ${value.length} bytes exceeds ${XATTR_SIZE_MAX}`,
    );
  const b = binding('set xattr');
  try {
    b.lsetxattr(path, name, Buffer.from(value.buffer, value.byteOffset, value.length));
  } catch (err) {
    throw toSysError(err, `set xattr ${name} on ${path}`);
  }
}

/** lgetxattr(2): the raw value of `name` on `path` itself (ENODATA → not_found). */
export function lgetxattr(path: string, name: string): Buffer {
  checkXattrArgs(path, name);
  const b = binding('get xattr');
  try {
    return b.lgetxattr(path, name);
  } catch (err) {
    throw toSysError(err, `get xattr ${name} of ${path}`);
  }
}

/** llistxattr(2): the attribute names on `path` itself. */
export function llistxattr(path: string): string[] {
  checkXattrArgs(path);
  const b = binding('list xattrs');
  try {
    return b.llistxattr(path);
  } catch (err) {
    throw toSysError(err, `list xattrs of ${path}`);
  }
}

/** Linux `_IOC(dir, type, nr, size)`: dir 0 none, 1 write, 2 read, 3 read/write. */
export function ioc(dir: 0 | 1 | 2 | 3, type: number, nr: number, size: number): number {
  if (!Number.isInteger(size) || size < 0 || size > 0x3fff)
    throw new NativeError(
      'invalid_argument',
      'ERR_NATIVE_ARGUMENT',
      `ioctl size ${size} is not 0..16383`,
    );
  return ((dir << 30) | (size << 16) | ((type & 0xff) << 8) | (nr & 0xff)) >>> 0;
}
/** `_IOWR(type, nr, size)`. */
export const iowr = (type: number, nr: number, size: number): number => ioc(3, type, nr, size);
/** `_IOR(type, nr, size)`. */
export const ior = (type: number, nr: number, size: number): number => ioc(2, type, nr, size);
/** `_IOW(type, nr, size)`. */
export const iow = (type: number, nr: number, size: number): number => ioc(1, type, nr, size);

/**
 * A u64 user-space address field inside one buffer of an ioctl call that must point at another
 * buffer of the same call (the addon fills it in just before the call and zeroes it after).
 */
export interface IoctlPointer {
  /** Index of the buffer that holds the field: 0 = the argument, 1.. = `buffers`. */
  readonly holder: number;
  /** Byte offset of the u64 field in the holder. */
  readonly offset: number;
  /** Index of the buffer the field points at. */
  readonly target: number;
  /** Byte offset of a length field in the holder that gets the target's byte length. */
  readonly lengthOffset?: number | undefined;
  /** Width of that length field (default 4). */
  readonly lengthSize?: 4 | 8 | undefined;
}

export interface IoctlOptions {
  /** Further memory the argument's pointer fields refer to (in/out like the argument). */
  readonly buffers?: readonly Buffer[] | undefined;
  readonly pointers?: readonly IoctlPointer[] | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * ioctl(2) in the thread pool with `arg` as in/out memory (the kernel writes results into it
 * in place, also when the call fails, so callers read status fields after an error). Resolves to
 * the ioctl's return value; a failure is a SysError whose `errnoCode` names the errno. The
 * request's encoded size (`_IOC_SIZE`) must fit in `arg`; legacy requests without one
 * (TIOCGWINSZ, SIOCGIFCONF) must pass an `arg` as large as the struct they name. Do not touch
 * the buffers until the promise settles; an abort leaves the call running to completion.
 */
export async function ioctl(
  fd: number,
  request: number,
  arg: Buffer,
  opts: IoctlOptions = {},
): Promise<number> {
  checkFd('fd', fd);
  checkU32('request', request);
  const buffers = [arg, ...(opts.buffers ?? [])];
  const pointers = (opts.pointers ?? []).map((p): [number, number, number, number, number] => {
    for (const [k, v] of [
      ['holder', p.holder],
      ['offset', p.offset],
      ['target', p.target],
    ] as const)
      checkU32(`pointer ${k}`, v);
    if (p.holder >= buffers.length || p.target >= buffers.length || p.holder === p.target)
      throw new NativeError(
        'invalid_argument',
        'ERR_NATIVE_ARGUMENT',
        `ioctl pointer ${p.holder} → ${p.target}: both must name distinct buffers of the call`,
      );
    return [p.holder, p.offset, p.target, p.lengthOffset ?? -1, p.lengthSize ?? 4];
  });
  opts.signal?.throwIfAborted();
  const b = binding('ioctl');
  const what = `ioctl 0x${request.toString(16)} on fd ${fd}`;
  let pending: Promise<number>;
  try {
    pending = b.ioctl(fd, request, buffers, pointers);
  } catch (err) {
    throw new NativeError('invalid_argument', 'ERR_NATIVE_ARGUMENT', `${what}: ${String(err)}`, {
      cause: err,
    });
  }
  try {
    return await pending;
  } catch (err) {
    throw toSysError(err, what);
  }
}
