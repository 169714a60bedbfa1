import { CcError, type ErrorKind } from '#src/lib/index.js';

/** Stable codes of the guest image builder (see README.md). */
export type GuestBuildErrorCode =
  | 'ERR_GUEST_BUILD_TOOL'
  | 'ERR_GUEST_BUILD_INPUT'
  | 'ERR_GUEST_BUILD_KERNEL'
  | 'ERR_GUEST_BUILD_LOCK'
  | 'ERR_GUEST_BUILD_MANIFEST';

export class GuestBuildError extends CcError {
  declare readonly code: GuestBuildErrorCode;
  constructor(kind: ErrorKind, code: GuestBuildErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
