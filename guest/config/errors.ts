import { CcError, type ErrorKind } from '#src/lib/index.js';

export type GuestConfigErrorCode = 'ERR_CONFIG_CMDLINE';

/** The agent's configuration cannot be obtained (bad values are `ERR_CONFIG_INVALID`, src/lib). */
export class GuestConfigError extends CcError {
  declare readonly code: GuestConfigErrorCode;
  constructor(
    kind: ErrorKind,
    code: GuestConfigErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(kind, code, message, options);
  }
}
