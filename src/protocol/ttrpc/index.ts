export * from './frame.js';
export * from './errors.js';
export { FrameDecoder } from './frame-decoder.js';
export type { FrameDecoderOptions } from './frame-decoder.js';
export { encodeFrame } from './frame-encoder.js';
export type { OutgoingFrame } from './frame-encoder.js';
export * from './status.js';
