import { CcError, type ErrorKind } from '#src/lib/index.js';

export type ShimErrorCode =
  | 'ERR_SHIM_USAGE'
  | 'ERR_SHIM_BUNDLE'
  | 'ERR_SHIM_SPAWN'
  | 'ERR_SHIM_SOCKET'
  | 'ERR_SHIM_BOOTSTRAP';

export class ShimError extends CcError {
  declare readonly code: ShimErrorCode;
  constructor(kind: ErrorKind, code: ShimErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
