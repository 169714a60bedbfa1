import { CcError, type ErrorKind } from '#src/lib/index.js';
import { KBS_ERROR_TYPE_PREFIX, type KbsErrorInfo } from '#src/protocol/kbs/index.js';

/**
 * The Trustee error variant and HTTP status for a failure (the only place that knows numbers).
 * The contract (issue #6, DESIGN.md §4, Trustee's "errors should yield 401 or 404"): 404 for a bad
 * path or an unknown plugin (and a missing resource), 401 for every other failure.
 */
export interface HttpFailure {
  readonly status: number;
  readonly variant: string;
}

const BY_CODE: Readonly<Record<string, HttpFailure>> = {
  ERR_KBS_PROTOCOL_VERSION: { status: 401, variant: 'ProtocolVersion' },
  ERR_KBS_MALFORMED: { status: 401, variant: 'InvalidRequest' },
  ERR_KBS_BODY_INVALID: { status: 401, variant: 'InvalidRequest' },
  ERR_KBS_UNSUPPORTED_KEY: { status: 401, variant: 'InvalidRequest' },
  ERR_KBS_BODY_TOO_LARGE: { status: 401, variant: 'PayloadTooLarge' },
  ERR_KBS_COOKIE_NOT_FOUND: { status: 401, variant: 'CookieNotFound' },
  ERR_KBS_SESSION_EXPIRED: { status: 401, variant: 'ExpiredCookie' },
  ERR_KBS_NONCE_USED: { status: 401, variant: 'UnAuthenticatedCookie' },
  ERR_KBS_SESSION_STATE: { status: 401, variant: 'UnAuthenticatedCookie' },
  ERR_KBS_TOKEN_NOT_FOUND: { status: 401, variant: 'TokenNotFound' },
  ERR_AS_TOKEN: { status: 401, variant: 'TokenVerifierError' },
  ERR_KBS_POLICY_DENY: { status: 401, variant: 'PolicyDeny' },
  ERR_KBS_RESOURCE_NOT_FOUND: { status: 404, variant: 'ResourceNotFound' },
  ERR_KBS_PATH: { status: 404, variant: 'InvalidRequestPath' },
  ERR_KBS_PLUGIN_NOT_FOUND: { status: 404, variant: 'PluginNotFound' },
  ERR_KBS_ADMIN_AUTH: { status: 401, variant: 'AdminAuthAccess' },
  ERR_KBS_JWE: { status: 401, variant: 'JweError' },
  ERR_AS_POLICY: { status: 401, variant: 'ParsePolicyError' },
  ERR_RVPS_INVALID: { status: 401, variant: 'RvpsError' },
  ERR_KBS_TOO_MANY_SESSIONS: { status: 401, variant: 'AttestationError' },
};

const BY_KIND: Readonly<Record<ErrorKind, HttpFailure>> = {
  invalid_argument: { status: 401, variant: 'AttestationError' },
  permission_denied: { status: 401, variant: 'AttestationError' },
  unauthenticated: { status: 401, variant: 'AttestationError' },
  not_found: { status: 404, variant: 'ResourceNotFound' },
  already_exists: { status: 401, variant: 'AttestationError' },
  failed_precondition: { status: 401, variant: 'AttestationError' },
  resource_exhausted: { status: 401, variant: 'AttestationError' },
  deadline_exceeded: { status: 401, variant: 'AttestationError' },
  cancelled: { status: 401, variant: 'AttestationError' },
  unavailable: { status: 401, variant: 'AttestationError' },
  unimplemented: { status: 401, variant: 'AttestationError' },
  internal: { status: 401, variant: 'AttestationError' },
};

export function httpFailureOf(err: unknown): HttpFailure {
  if (err instanceof CcError) return BY_CODE[err.code] ?? BY_KIND[err.kind];
  return { status: 401, variant: 'AttestationError' };
}

/**
 * The body sent to the client. Attestation failures (verifier, policy) carry a generic detail with
 * the stable code; the full message goes to the log only.
 */
export function errorBody(err: unknown, f: HttpFailure): KbsErrorInfo {
  const generic =
    f.variant === 'AttestationError' &&
    err instanceof CcError &&
    (err.kind === 'permission_denied' || err.kind === 'internal');
  const detail = !(err instanceof CcError)
    ? 'internal error'
    : generic
      ? `attestation failed [${err.code}]`
      : `${err.message} [${err.code}]`;
  return { type: `${KBS_ERROR_TYPE_PREFIX}${f.variant}`, detail };
}
