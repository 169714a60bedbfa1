import { tooLargeError, TtrpcError } from './errors.js';
import { FRAME_TYPE, TTRPC_HEADER_LENGTH, TTRPC_MAX_MESSAGE } from './frame.js';
import type { FrameTypeName } from './frame.js';

export interface OutgoingFrame {
  readonly streamId: number;
  /** A type name, or the raw type byte. */
  readonly type: FrameTypeName | number;
  readonly flags: number;
  readonly payload: Uint8Array;
}

/**
 * Encodes one frame: the 10-byte header followed by the payload, in one buffer. Throws
 * ERR_TTRPC_MESSAGE_TOO_LARGE (resource_exhausted) when the payload is over `maxMessage`, as the Go
 * implementation refuses to send such a frame.
 */
export function encodeFrame(frame: OutgoingFrame, maxMessage = TTRPC_MAX_MESSAGE): Buffer {
  const { streamId, flags, payload } = frame;
  const type = typeof frame.type === 'number' ? frame.type : FRAME_TYPE[frame.type];
  if (payload.length > maxMessage) throw tooLargeError(payload.length, maxMessage);
  if (!isU32(streamId) || !isU8(type) || !isU8(flags)) {
    throw new TtrpcError(
      'invalid_argument',
      'ERR_TTRPC_PROTOCOL',
      `cannot encode frame: stream id ${streamId}, type ${type} or flags ${flags} out of range`,
    );
  }
  const out = Buffer.allocUnsafe(TTRPC_HEADER_LENGTH + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(streamId, 4);
  out[8] = type;
  out[9] = flags;
  out.set(payload, TTRPC_HEADER_LENGTH);
  return out;
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

function isU8(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xff;
}
