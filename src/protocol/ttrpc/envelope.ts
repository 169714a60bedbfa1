import { Request, Response } from '../generated/ttrpc/ttrpc.js';
import { TtrpcError } from './errors.js';
import { errorFromStatus } from './status.js';
import type { WireStatus } from './status.js';

/** Encoded request envelope. @internal */
export function encodeRequest(req: Request): Uint8Array {
  return Request.encode(req).finish();
}

/** Decodes a request envelope; a malformed one is a protocol error. @internal */
export function decodeRequest(bytes: Uint8Array): Request | TtrpcError {
  try {
    return Request.decode(bytes);
  } catch (err) {
    return new TtrpcError(
      'invalid_argument',
      'ERR_TTRPC_PROTOCOL',
      `unmarshal request error: ${describe(err)}`,
      {
        cause: err,
      },
    );
  }
}

/** Encoded response envelope. @internal */
export function encodeResponse(status: WireStatus, payload: Uint8Array): Uint8Array {
  return Response.encode({
    status: { code: status.code, message: status.message, details: [] },
    payload: payload as Buffer,
  }).finish();
}

/** The payload of an OK response, or the error for a non-OK one or a malformed envelope. @internal */
export function decodeResponse(bytes: Uint8Array, what: string): Uint8Array | TtrpcError {
  let res: Response;
  try {
    res = Response.decode(bytes);
  } catch (err) {
    return new TtrpcError(
      'internal',
      'ERR_TTRPC_PROTOCOL',
      `${what}: malformed response: ${describe(err)}`,
      {
        cause: err,
      },
    );
  }
  const code = res.status?.code ?? 0;
  if (code !== 0) return errorFromStatus({ code, message: res.status?.message ?? '' });
  return res.payload;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
