import { CcError, type ErrorKind } from '#src/lib/index.js';

export type KbsProtocolErrorCode =
  | 'ERR_KBS_MALFORMED'
  | 'ERR_KBS_PROTOCOL_VERSION'
  | 'ERR_KBS_UNSUPPORTED_KEY'
  | 'ERR_KBS_JWE'
  | 'ERR_KBS_CANONICAL_JSON'
  | 'ERR_KBS_HTTP'
  | 'ERR_KBS_TOKEN';

/** Errors of the KBS wire protocol (parsers, JWE, canonical JSON, the client). */
export class KbsProtocolError extends CcError {
  declare readonly code: KbsProtocolErrorCode;
  /** For client errors: the Trustee error variant the server returned (e.g. `PolicyDeny`). */
  readonly variant: string | undefined;
  /** For client errors: the HTTP status the server returned. */
  readonly status: number | undefined;
  constructor(
    kind: ErrorKind,
    code: KbsProtocolErrorCode,
    message: string,
    options?: ErrorOptions & { variant?: string | undefined; status?: number | undefined },
  ) {
    super(kind, code, message, options);
    this.variant = options?.variant;
    this.status = options?.status;
  }
}

export function malformed(message: string, cause?: unknown): KbsProtocolError {
  return new KbsProtocolError(
    'invalid_argument',
    'ERR_KBS_MALFORMED',
    message,
    cause === undefined ? undefined : { cause },
  );
}
