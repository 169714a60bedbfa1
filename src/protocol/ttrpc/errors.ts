import { CcError } from '#src/lib/index.js';
import type { ErrorKind } from '#src/lib/index.js';

/** Stable error codes of the ttrpc implementation. */
export type TtrpcErrorCode =
  /** A frame's data length is over the limit (sent or received). */
  | 'ERR_TTRPC_MESSAGE_TOO_LARGE'
  /** The connection, client or server is closed or was lost. */
  | 'ERR_TTRPC_CLOSED'
  /** The peer broke the wire protocol (bad frame, bad envelope, bad stream id). */
  | 'ERR_TTRPC_PROTOCOL'
  /** The peer answered with a non-OK google.rpc.Status; `kind` follows its code. */
  | 'ERR_TTRPC_STATUS'
  /** A per-stream receive buffer overflowed; only that stream fails. */
  | 'ERR_TTRPC_STREAM_FULL'
  /** A stream operation in the wrong state (send after closeSend, send on a non-client-streaming call). */
  | 'ERR_TTRPC_STREAM_STATE'
  /** The caller's signal aborted or the call deadline passed. */
  | 'ERR_TTRPC_CANCELLED'
  | 'ERR_TTRPC_DEADLINE'
  /** A payload could not be encoded or decoded by a typed layer. */
  | 'ERR_TTRPC_CODEC';

export class TtrpcError extends CcError {
  declare readonly code: TtrpcErrorCode;
  /** The gRPC status code carried on the wire, when the error came from (or goes to) a status. */
  readonly grpcCode: number | undefined;
  constructor(
    kind: ErrorKind,
    code: TtrpcErrorCode,
    message: string,
    options?: ErrorOptions & { grpcCode?: number | undefined },
  ) {
    super(kind, code, message, options);
    this.grpcCode = options?.grpcCode;
  }
}

export function closedError(what: string, cause?: unknown): TtrpcError {
  return new TtrpcError(
    'unavailable',
    'ERR_TTRPC_CLOSED',
    what,
    cause === undefined ? undefined : { cause },
  );
}

export function tooLargeError(length: number, max: number): TtrpcError {
  return new TtrpcError(
    'resource_exhausted',
    'ERR_TTRPC_MESSAGE_TOO_LARGE',
    `message length ${length} exceed maximum message size of ${max}`,
  );
}
