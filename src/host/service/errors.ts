import { CcError, type ErrorKind } from '#src/lib/index.js';

export type ServiceErrorCode =
  'ERR_SERVICE_REQUEST' | 'ERR_SERVICE_EVENTS' | 'ERR_SERVICE_UNIMPLEMENTED';

export class ServiceError extends CcError {
  declare readonly code: ServiceErrorCode;
  constructor(kind: ErrorKind, code: ServiceErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
