import { CcError, type ErrorKind } from '#src/lib/index.js';

export type CdhErrorCode =
  | 'ERR_CDH_SEALED_SECRET'
  | 'ERR_CDH_SEALED_SIGNATURE'
  | 'ERR_CDH_PROVIDER'
  | 'ERR_CDH_DECRYPT'
  | 'ERR_CDH_KEYPROVIDER'
  | 'ERR_CDH_CONFIG';

export class CdhError extends CcError {
  declare readonly code: CdhErrorCode;
  constructor(kind: ErrorKind, code: CdhErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
