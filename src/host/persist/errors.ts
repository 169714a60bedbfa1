import { CcError, type ErrorKind } from '#src/lib/index.js';

export type PersistErrorCode = 'ERR_PERSIST_READ' | 'ERR_PERSIST_WRITE' | 'ERR_PERSIST_INVALID';

export class PersistError extends CcError {
  declare readonly code: PersistErrorCode;
  constructor(kind: ErrorKind, code: PersistErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
