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

/** A failure from the addon as a SysError (errno known) or an internal NativeError. */
export function toSysError(err: unknown, what: string): CcError {
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
