import { CcError, type ErrorKind } from '#src/lib/index.js';

export type AaErrorCode =
  | 'ERR_AA_INITDATA_MISMATCH'
  | 'ERR_AA_TOKEN_TYPE'
  | 'ERR_AA_NO_KBS'
  | 'ERR_AA_MEASUREMENT'
  | 'ERR_AA_CONFIG'
  | 'ERR_AA_EVENTLOG';

export class AaError extends CcError {
  declare readonly code: AaErrorCode;
  constructor(kind: ErrorKind, code: AaErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
