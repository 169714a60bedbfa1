import { CcError, type ErrorKind } from '#src/lib/index.js';

export type RestErrorCode = 'ERR_REST_PATH' | 'ERR_REST_QUERY';

export class RestError extends CcError {
  declare readonly code: RestErrorCode;
  constructor(kind: ErrorKind, code: RestErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
