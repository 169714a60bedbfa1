/** What a handler knows about the call it serves. */
export interface CallContext {
  /** Aborts at the request's deadline (`timeout_nano`), when the connection is lost, or when the call is over. */
  readonly signal: AbortSignal;
  /** Request metadata; keys lower-cased. containerd's namespace is under `containerd-namespace-ttrpc`. */
  readonly metadata: ReadonlyMap<string, readonly string[]>;
  readonly service: string;
  readonly method: string;
  /** The request's deadline as epoch ms (`Date.now()` clock) when it carried `timeout_nano`, to pass on downstream. */
  readonly deadline?: number | undefined;
}

/** A unary method: request payload in, response payload out. Throw a CcError to answer a status. */
export type UnaryHandler = (payload: Uint8Array, ctx: CallContext) => Promise<Uint8Array>;

/** The server's side of one stream. */
export interface ServerStream extends AsyncIterable<Uint8Array> {
  /** The request frame's payload (the request message of a server-streaming call; often empty otherwise). */
  readonly payload: Uint8Array;
  /** Sends one data frame to the client (server-/bidi-streaming); resolves with backpressure. */
  send(payload: Uint8Array): Promise<void>;
}

export type StreamingKind = 'client' | 'server' | 'bidi';

/**
 * A streaming method. `client`: iterate the stream, return the response payload. `server`: read
 * `stream.payload`, `send()` messages, return undefined. `bidi`: both. Returning ends the stream
 * (a closing data frame when the server streams, else a Response); throwing answers a status.
 */
export interface StreamingMethod {
  readonly streaming: StreamingKind;
  readonly handler: (stream: ServerStream, ctx: CallContext) => Promise<Uint8Array | undefined>;
}

export type MethodHandler = UnaryHandler | StreamingMethod;

export type ServiceHandlers = Readonly<Record<string, MethodHandler>>;
