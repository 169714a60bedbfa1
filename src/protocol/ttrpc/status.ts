import type { ErrorKind } from '#src/lib/index.js';
import { CcError } from '#src/lib/index.js';
import { TtrpcError } from './errors.js';

/** gRPC status codes (google.rpc.Code), as carried in ttrpc responses. */
export const GRPC_CODE = {
  ok: 0,
  cancelled: 1,
  unknown: 2,
  invalidArgument: 3,
  deadlineExceeded: 4,
  notFound: 5,
  alreadyExists: 6,
  permissionDenied: 7,
  resourceExhausted: 8,
  failedPrecondition: 9,
  aborted: 10,
  outOfRange: 11,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  dataLoss: 15,
  unauthenticated: 16,
} as const;

/** The one table from error kind to gRPC code (the ttrpc edge of every service). */
export const GRPC_CODE_OF_KIND = {
  cancelled: 1,
  invalid_argument: 3,
  deadline_exceeded: 4,
  not_found: 5,
  already_exists: 6,
  permission_denied: 7,
  resource_exhausted: 8,
  failed_precondition: 9,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  unauthenticated: 16,
} as const satisfies Record<ErrorKind, number>;

/** gRPC codes without a kind of their own fold into the nearest one (containerd errdefs does the same). */
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

export function grpcCodeOfKind(kind: ErrorKind): number {
  return GRPC_CODE_OF_KIND[kind];
}

/** The error kind for a non-OK gRPC code; unknown codes are `internal`. */
export function kindOfGrpcCode(code: number): ErrorKind {
  return KIND_OF_GRPC_CODE[code] ?? 'internal';
}

export interface WireStatus {
  readonly code: number;
  readonly message: string;
}

/** The CcError a client throws for a non-OK status received from the peer. */
export function errorFromStatus(status: WireStatus): TtrpcError {
  return new TtrpcError(kindOfGrpcCode(status.code), 'ERR_TTRPC_STATUS', status.message, {
    grpcCode: status.code,
  });
}

/**
 * The status a server sends for a failed handler. A CcError keeps its kind and message (a received
 * TtrpcError keeps its exact wire code); anything else becomes INTERNAL with a generic message, so no
 * internal detail leaks to the peer.
 */
export function statusFromError(err: unknown): WireStatus {
  if (err instanceof TtrpcError && err.grpcCode !== undefined) {
    return { code: err.grpcCode, message: err.message };
  }
  if (err instanceof CcError) return { code: grpcCodeOfKind(err.kind), message: err.message };
  return { code: GRPC_CODE.internal, message: 'internal error' };
}
