import { CcError, type ErrorKind } from '#src/lib/index.js';

export type RuntimeErrorCode =
  | 'ERR_RUNTIME_STATE'
  | 'ERR_RUNTIME_NOT_FOUND'
  | 'ERR_RUNTIME_EXISTS'
  | 'ERR_RUNTIME_BUNDLE'
  | 'ERR_RUNTIME_STDIO'
  | 'ERR_RUNTIME_SANDBOX'
  | 'ERR_RUNTIME_UNSUPPORTED'
  | 'ERR_RUNTIME_ANNOTATION'
  | 'ERR_RUNTIME_INITDATA'
  | 'ERR_RUNTIME_VOLUME';

export class RuntimeError extends CcError {
  declare readonly code: RuntimeErrorCode;
  constructor(kind: ErrorKind, code: RuntimeErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}

export function notFound(what: string): RuntimeError {
  return new RuntimeError('not_found', 'ERR_RUNTIME_NOT_FOUND', `${what} not found`);
}
