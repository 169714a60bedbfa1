import { CcError } from '#src/lib/index.js';
import type { ErrorKind } from '#src/lib/index.js';
import { kindOfGrpcCode } from '../ttrpc/index.js';

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

/** The error kind of a non-OK gRPC status code (src/protocol/ttrpc's folding); unknown: `internal`. */
export function kindOfGrpcStatus(code: number): ErrorKind {
  return kindOfGrpcCode(code);
}
