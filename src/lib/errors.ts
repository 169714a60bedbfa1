/**
 * The one error type of kata-cc. `kind` is the category (gRPC / containerd errdefs), `code` a stable
 * `ERR_<AREA>_<WHAT>` identifier. Classify by these, never by message text.
 */
export type ErrorKind =
  | 'invalid_argument'
  | 'not_found'
  | 'already_exists'
  | 'failed_precondition'
  | 'permission_denied'
  | 'unauthenticated'
  | 'resource_exhausted'
  | 'deadline_exceeded'
  | 'cancelled'
  | 'unavailable'
  | 'unimplemented'
  | 'internal';

export const ERROR_KINDS: readonly ErrorKind[] = [
  'invalid_argument',
  'not_found',
  'already_exists',
  'failed_precondition',
  'permission_denied',
  'unauthenticated',
  'resource_exhausted',
  'deadline_exceeded',
  'cancelled',
  'unavailable',
  'unimplemented',
  'internal',
];

export class CcError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  constructor(kind: ErrorKind, code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.kind = kind;
    this.code = code;
  }
}

/** Errors of src/lib itself. */
export type LibErrorCode =
  | 'ERR_ABORTED'
  | 'ERR_TIMEOUT'
  | 'ERR_CONFIG_INVALID'
  | 'ERR_CLOSED'
  | 'ERR_SYSTEM'
  | 'ERR_PROGRAM_ARGV'
  | 'ERR_PROGRAM_NOT_FOUND'
  | 'ERR_PROGRAM_FAILED'
  | 'ERR_PROGRAM_OUTPUT';

export class LibError extends CcError {
  declare readonly code: LibErrorCode;
  constructor(kind: ErrorKind, code: LibErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}

export function isCcError(err: unknown): err is CcError {
  return err instanceof CcError;
}

/** A Node system error (`err.code` like `ENOENT`), as thrown by fs, net and child_process. */
export interface SystemErrorLike extends Error {
  readonly code: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly path?: string;
}

export function isSystemError(err: unknown, code?: string): err is SystemErrorLike {
  if (!(err instanceof Error)) return false;
  const c = (err as { code?: unknown }).code;
  return typeof c === 'string' && (code === undefined || c === code);
}

const KIND_OF_ERRNO: Readonly<Record<string, ErrorKind>> = {
  ENOENT: 'not_found',
  EEXIST: 'already_exists',
  EACCES: 'permission_denied',
  EPERM: 'permission_denied',
  EINVAL: 'invalid_argument',
  ENOSPC: 'resource_exhausted',
  ENOMEM: 'resource_exhausted',
  EMFILE: 'resource_exhausted',
  ETIMEDOUT: 'deadline_exceeded',
  ECONNREFUSED: 'unavailable',
  ECONNRESET: 'unavailable',
  EPIPE: 'unavailable',
  ENOTCONN: 'unavailable',
  EAGAIN: 'unavailable',
  EBUSY: 'unavailable',
  ENOSYS: 'unimplemented',
  EOPNOTSUPP: 'unimplemented',
};

/** The error kind that fits a Node system error code such as `ENOENT`. */
export function kindOfErrno(code: string): ErrorKind {
  return KIND_OF_ERRNO[code] ?? 'internal';
}

/**
 * Wraps anything thrown into a CcError with context. A CcError passes through unchanged unless a new
 * message is wanted; a system error keeps its errno-derived kind.
 */
export function wrapError(err: unknown, message: string, code = 'ERR_SYSTEM'): CcError {
  if (err instanceof CcError)
    return new CcError(err.kind, err.code, `${message}: ${err.message}`, { cause: err });
  if (isSystemError(err))
    return new CcError(kindOfErrno(err.code), code, `${message}: ${err.message}`, { cause: err });
  const text = err instanceof Error ? err.message : String(err);
  return new CcError('internal', code, `${message}: ${text}`, { cause: err });
}

/** A short human description of anything thrown, for logs and CLI output. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
