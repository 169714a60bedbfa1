import { CcError, type ErrorKind } from '#src/lib/index.js';

export type GuestInitDataErrorCode = 'ERR_INITDATA_DISK' | 'ERR_INITDATA_WRITE';

export class GuestInitDataError extends CcError {
  declare readonly code: GuestInitDataErrorCode;
  constructor(
    kind: ErrorKind,
    code: GuestInitDataErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(kind, code, message, options);
  }
}
