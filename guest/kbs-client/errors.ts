import { CcError, type ErrorKind } from '#src/lib/index.js';

export type GuestKbsErrorCode =
  | 'ERR_GUEST_KBS_ATTEST'
  | 'ERR_GUEST_KBS_UNAUTHORIZED'
  | 'ERR_GUEST_KBS_DENIED'
  | 'ERR_GUEST_KBS_NOT_FOUND'
  | 'ERR_GUEST_KBS_RESOURCE'
  | 'ERR_GUEST_KBS_URI';

export class GuestKbsError extends CcError {
  declare readonly code: GuestKbsErrorCode;
  constructor(kind: ErrorKind, code: GuestKbsErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
