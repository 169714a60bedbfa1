import { CcError, type ErrorKind } from '#src/lib/index.js';

export type KbsErrorCode =
  | 'ERR_KBS_COOKIE_NOT_FOUND'
  | 'ERR_KBS_SESSION_EXPIRED'
  | 'ERR_KBS_SESSION_STATE'
  | 'ERR_KBS_NONCE_USED'
  | 'ERR_KBS_TOKEN_NOT_FOUND'
  | 'ERR_KBS_POLICY_DENY'
  | 'ERR_KBS_RESOURCE_NOT_FOUND'
  | 'ERR_KBS_PATH'
  | 'ERR_KBS_PLUGIN_NOT_FOUND'
  | 'ERR_KBS_ADMIN_AUTH'
  | 'ERR_KBS_BODY_TOO_LARGE'
  | 'ERR_KBS_BODY_INVALID'
  | 'ERR_KBS_TOO_MANY_SESSIONS';

export class KbsError extends CcError {
  declare readonly code: KbsErrorCode;
  constructor(kind: ErrorKind, code: KbsErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
