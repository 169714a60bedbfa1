import { CcError, type ErrorKind } from '#src/lib/index.js';

/** One stable code per verification check (see README.md for the table). */
export type VerifierErrorCode =
  | 'ERR_EVIDENCE_MALFORMED'
  | 'ERR_VERIFIER_CONFIG'
  | 'ERR_SAMPLE_NOT_ALLOWED'
  | 'ERR_REPORT_DATA_MISMATCH'
  | 'ERR_INIT_DATA_MISMATCH'
  | 'ERR_TDX_QUOTE_MALFORMED'
  | 'ERR_TDX_QUOTE_UNSUPPORTED'
  | 'ERR_TDX_QUOTE_SIGNATURE'
  | 'ERR_TDX_QE_REPORT_SIGNATURE'
  | 'ERR_TDX_QE_REPORT_DATA'
  | 'ERR_TDX_PCK_CHAIN'
  | 'ERR_TDX_PCK_EXTENSIONS'
  | 'ERR_TDX_CRL'
  | 'ERR_TDX_CRL_REVOKED'
  | 'ERR_TDX_COLLATERAL_MALFORMED'
  | 'ERR_TDX_COLLATERAL_MISSING'
  | 'ERR_TDX_COLLATERAL_CHAIN'
  | 'ERR_TDX_TCB_INFO_SIGNATURE'
  | 'ERR_TDX_QE_IDENTITY_SIGNATURE'
  | 'ERR_TDX_COLLATERAL_EXPIRED'
  | 'ERR_TDX_FMSPC_MISMATCH'
  | 'ERR_TDX_TCB_LEVEL_NOT_SUPPORTED'
  | 'ERR_TDX_TCB_REVOKED'
  | 'ERR_TDX_MODULE_IDENTITY'
  | 'ERR_TDX_QE_IDENTITY_MISMATCH'
  | 'ERR_TDX_CCEL_MALFORMED'
  | 'ERR_TDX_CCEL_RTMR_MISMATCH'
  | 'ERR_TDX_AAEL_MALFORMED'
  | 'ERR_TDX_AAEL_RTMR_MISMATCH'
  | 'ERR_SNP_REPORT_MALFORMED'
  | 'ERR_SNP_REPORT_UNSUPPORTED'
  | 'ERR_SNP_VCEK_MISSING'
  | 'ERR_SNP_VCEK_CHAIN'
  | 'ERR_SNP_CRL'
  | 'ERR_SNP_CRL_REVOKED'
  | 'ERR_SNP_VCEK_EXTENSIONS'
  | 'ERR_SNP_SIGNATURE'
  | 'ERR_SNP_TCB_MISMATCH'
  | 'ERR_SNP_CHIP_ID_MISMATCH';

/**
 * A failed or impossible verification. `kind` is `permission_denied` when a check failed and
 * `invalid_argument` when the evidence (or collateral) is malformed. The message names the check.
 */
export class VerifierError extends CcError {
  declare readonly code: VerifierErrorCode;
  constructor(kind: ErrorKind, code: VerifierErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}

/** A check that ran and failed. */
export function denied(code: VerifierErrorCode, message: string, cause?: unknown): VerifierError {
  return new VerifierError(
    'permission_denied',
    code,
    message,
    cause === undefined ? undefined : { cause },
  );
}

/** Input that cannot be verified because it is malformed. */
export function malformedInput(
  code: VerifierErrorCode,
  message: string,
  cause?: unknown,
): VerifierError {
  return new VerifierError(
    'invalid_argument',
    code,
    message,
    cause === undefined ? undefined : { cause },
  );
}
