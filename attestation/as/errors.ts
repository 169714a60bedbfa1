import { CcError, type ErrorKind } from '#src/lib/index.js';

export type AsErrorCode =
  | 'ERR_AS_POLICY'
  | 'ERR_AS_POLICY_RESULT'
  | 'ERR_AS_UNSUPPORTED_TEE'
  | 'ERR_AS_INIT_DATA'
  | 'ERR_AS_TOKEN'
  | 'ERR_AS_KEY';

export class AsError extends CcError {
  declare readonly code: AsErrorCode;
  constructor(kind: ErrorKind, code: AsErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
