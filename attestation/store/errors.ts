import { CcError, type ErrorKind } from '#src/lib/index.js';

export type StoreErrorCode = 'ERR_STORE_IO' | 'ERR_STORE_KEY' | 'ERR_STORE_TOO_LARGE';

export class StoreError extends CcError {
  declare readonly code: StoreErrorCode;
  constructor(kind: ErrorKind, code: StoreErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
