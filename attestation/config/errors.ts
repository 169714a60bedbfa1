import { CcError, type ErrorKind } from '#src/lib/index.js';

export type KbsConfigErrorCode =
  'ERR_KBS_CONFIG_READ' | 'ERR_KBS_CONFIG_SYNTAX' | 'ERR_KBS_CONFIG_INVALID';

export class KbsConfigError extends CcError {
  declare readonly code: KbsConfigErrorCode;
  constructor(kind: ErrorKind, code: KbsConfigErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
