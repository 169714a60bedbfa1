export * from './frame.js';
export * from './errors.js';
export { FrameDecoder } from './frame-decoder.js';
export type { FrameDecoderOptions } from './frame-decoder.js';
export { encodeFrame } from './frame-encoder.js';
export type { OutgoingFrame } from './frame-encoder.js';
export * from './status.js';
export { TtrpcClient } from './client.js';
export type { TtrpcClientOptions } from './client.js';
export type { ClientStream, StreamOptions } from './client-stream.js';
export type { CallOptions } from './call-signal.js';
export { TtrpcServer } from './server.js';
export type { ServerCloseOptions, TtrpcServerOptions } from './server.js';
export type {
  CallContext,
  MethodHandler,
  ServerStream,
  ServiceHandlers,
  StreamingKind,
  StreamingMethod,
  UnaryHandler,
} from './handlers.js';
export { CONTAINERD_NAMESPACE_KEY } from './metadata.js';
export type { Metadata } from './metadata.js';
export { createTypedClient, defineService, registerTypedService } from './typed.js';
export type {
  MessageCodec,
  MethodDef,
  MethodDefs,
  ServiceDef,
  ServiceImpl,
  TypedClient,
  TypedClientMethod,
  TypedClientStream,
  TypedServerMethod,
  TypedServerStream,
} from './typed.js';
