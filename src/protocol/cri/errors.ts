import { CcError } from '#src/lib/index.js';
import type { ErrorKind } from '#src/lib/index.js';

/** Stable error codes of the CRI client. */
export type CriErrorCode =
  /** The runtime answered with a non-OK gRPC status; `kind` follows the status code. */
  | 'ERR_CRI_STATUS'
  /** The caller's signal aborted the call. */
  | 'ERR_CRI_CANCELLED'
  /** The call's deadline passed before the runtime answered. */
  | 'ERR_CRI_DEADLINE'
  /** Bad client options or call arguments. */
  | 'ERR_CRI_ARGUMENT'
  /** The client was closed. */
  | 'ERR_CRI_CLOSED';

export class CriError extends CcError {
  declare readonly code: CriErrorCode;
  /** The gRPC status code the runtime sent, for ERR_CRI_STATUS. */
  readonly grpcCode: number | undefined;
  constructor(
    kind: ErrorKind,
    code: CriErrorCode,
    message: string,
    options?: ErrorOptions & { grpcCode?: number | undefined },
  ) {
    super(kind, code, message, options);
    this.grpcCode = options?.grpcCode;
  }
}

/** gRPC status codes folded into error kinds (the same folding as src/protocol/ttrpc's status table). */
const KIND_OF_GRPC_CODE: Readonly<Record<number, ErrorKind>> = {
  1: 'cancelled',
  2: 'internal',
  3: 'invalid_argument',
  4: 'deadline_exceeded',
  5: 'not_found',
  6: 'already_exists',
  7: 'permission_denied',
  8: 'resource_exhausted',
  9: 'failed_precondition',
  10: 'failed_precondition',
  11: 'invalid_argument',
  12: 'unimplemented',
  13: 'internal',
  14: 'unavailable',
  15: 'internal',
  16: 'unauthenticated',
};

/** The error kind of a non-OK gRPC status code; unknown codes are `internal`. */
export function kindOfGrpcStatus(code: number): ErrorKind {
  return KIND_OF_GRPC_CODE[code] ?? 'internal';
}
