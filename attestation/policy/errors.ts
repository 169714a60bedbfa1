import { CcError, type ErrorKind } from '#src/lib/index.js';

export type PolicyStoreErrorCode =
  'ERR_POLICY_ID' | 'ERR_POLICY_DEFAULT_MISSING' | 'ERR_POLICY_TOO_LARGE';

export class PolicyStoreError extends CcError {
  declare readonly code: PolicyStoreErrorCode;
  constructor(
    kind: ErrorKind,
    code: PolicyStoreErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(kind, code, message, options);
  }
}
