import { CcError, type ErrorKind } from '#src/lib/index.js';

export type RvpsErrorCode = 'ERR_RVPS_INVALID';

export class RvpsError extends CcError {
  declare readonly code: RvpsErrorCode;
  constructor(kind: ErrorKind, code: RvpsErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
