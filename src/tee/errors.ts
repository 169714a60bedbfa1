import { CcError, type ErrorKind } from '#src/lib/index.js';

/** Stable codes of the TEE evidence parsers (`src/tee`). */
export type TeeErrorCode =
  | 'ERR_TEE_TRUNCATED'
  | 'ERR_TEE_MALFORMED'
  | 'ERR_TEE_UNSUPPORTED'
  | 'ERR_INITDATA_INVALID'
  | 'ERR_INITDATA_ALGORITHM'
  | 'ERR_CCEL_MALFORMED'
  | 'ERR_AAEL_INVALID';

/** A malformed or unsupported TDX quote, SNP report, CCEL, AAEL or initdata document. */
export class TeeError extends CcError {
  declare readonly code: TeeErrorCode;
  constructor(kind: ErrorKind, code: TeeErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}

export function malformed(message: string): TeeError {
  return new TeeError('invalid_argument', 'ERR_TEE_MALFORMED', message);
}
