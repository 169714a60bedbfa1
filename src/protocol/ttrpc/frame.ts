/** Wire constants and the frame shape of ttrpc (see PROTOCOL.md beside this file). */

export const TTRPC_HEADER_LENGTH = 10;
/** Largest data length of one frame; the same limit as the Go implementation (4 MiB). */
export const TTRPC_MAX_MESSAGE = 4 << 20;

/** Message types (header byte 8). */
export const FRAME_TYPE = { request: 1, response: 2, data: 3 } as const;
export type FrameTypeName = keyof typeof FRAME_TYPE;

/** Flags of a request frame. */
export const REQUEST_FLAG = { remoteClosed: 0x1, remoteOpen: 0x2 } as const;
/** Flags of a data frame. */
export const DATA_FLAG = { remoteClosed: 0x1, noData: 0x4 } as const;

/** One decoded frame. `type` is the raw message type byte, so unknown types survive for the caller to ignore. */
export interface Frame {
  readonly streamId: number;
  readonly type: number;
  readonly flags: number;
  readonly payload: Uint8Array;
  /**
   * Set only by a decoder in `discard` mode: the announced data length of a frame that was over the
   * limit. Its body was skipped without buffering and `payload` is empty.
   */
  readonly discardedLength?: number | undefined;
}

export const EMPTY_PAYLOAD: Uint8Array = new Uint8Array(0);
