import { CcError, type ErrorKind } from '#src/lib/index.js';

export type AttesterErrorCode =
  | 'ERR_ATTESTER_UNAVAILABLE'
  | 'ERR_ATTESTER_REPORT_DATA'
  | 'ERR_ATTESTER_TSM'
  | 'ERR_ATTESTER_TSM_RACE'
  | 'ERR_ATTESTER_EVIDENCE'
  | 'ERR_ATTESTER_UNSUPPORTED'
  | 'ERR_ATTESTER_IOCTL'
  | 'ERR_ATTESTER_QGS'
  | 'ERR_ATTESTER_RTMR';

/** Every failure of an attester. */
export class AttesterError extends CcError {
  declare readonly code: AttesterErrorCode;
  constructor(kind: ErrorKind, code: AttesterErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
