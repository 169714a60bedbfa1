import { CcError, type ErrorKind } from '#src/lib/index.js';

/** Stable error codes of src/host/policy-gen (listed in README.md). */
export type PolicyGenErrorCode =
  | 'ERR_POLICYGEN_INPUT'
  | 'ERR_POLICYGEN_REFERENCE'
  | 'ERR_POLICYGEN_IMAGE'
  | 'ERR_POLICYGEN_SETTINGS';

export class PolicyGenError extends CcError {
  declare readonly code: PolicyGenErrorCode;
  constructor(kind: ErrorKind, code: PolicyGenErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}

/** A manifest problem: `at` names the document and field (`pod.yaml#2 spec.containers[0].env`). */
export function inputError(at: string, message: string): PolicyGenError {
  return new PolicyGenError('invalid_argument', 'ERR_POLICYGEN_INPUT', `${at}: ${message}`);
}
