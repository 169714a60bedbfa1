import type { CcError } from '#src/lib/index.js';
import type { CallOptions } from './call-signal.js';
import type { TtrpcClient } from './client.js';
import type { StreamOptions } from './client-stream.js';
import { TtrpcError } from './errors.js';
import type { CallContext, MethodHandler, StreamingKind } from './handlers.js';
import type { TtrpcServer } from './server.js';

/** The shape of ts-proto's generated message objects (`encode(msg).finish()`, `decode(bytes)`). */
export interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

export interface MethodDef<Req = unknown, Res = unknown> {
  readonly requestType: MessageCodec<Req>;
  readonly responseType: MessageCodec<Res>;
  /** Absent for unary methods. */
  readonly streaming?: StreamingKind | undefined;
}

export type MethodDefs = Readonly<Record<string, MethodDef<any, any>>>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ServiceDef<M extends MethodDefs = MethodDefs> {
  /** Fully qualified service name, e.g. `grpc.AgentService`. */
  readonly name: string;
  readonly methods: M;
}

/** Declares a service once, for both sides. */
export function defineService<M extends MethodDefs>(name: string, methods: M): ServiceDef<M> {
  return { name, methods };
}

type ReqOf<D> = D extends MethodDef<infer Req> ? Req : never;
type ResOf<D> = D extends MethodDef<unknown, infer Res> ? Res : never;

/** A typed stream: send requests, iterate responses, await the final one. */
export interface TypedClientStream<Req, Res> extends AsyncIterable<Res> {
  send(req: Req): Promise<void>;
  closeSend(): Promise<void>;
  /** The decoded final Response payload; undefined when the server ended with a closing data frame. */
  readonly response: Promise<Res | undefined>;
}

export type TypedClientMethod<D> = D extends { streaming: 'server' }
  ? (req: ReqOf<D>, opts?: CallOptions) => TypedClientStream<ReqOf<D>, ResOf<D>>
  : D extends { streaming: 'client' | 'bidi' }
    ? (opts?: CallOptions) => TypedClientStream<ReqOf<D>, ResOf<D>>
    : (req: ReqOf<D>, opts?: CallOptions) => Promise<ResOf<D>>;

export type TypedClient<M extends MethodDefs> = {
  readonly [K in keyof M]: TypedClientMethod<M[K]>;
};

/** The server's typed view of a stream. */
export interface TypedServerStream<Req, Res> extends AsyncIterable<Req> {
  /** The request message of a server-streaming call. */
  readonly request: Req;
  send(res: Res): Promise<void>;
}

export type TypedServerMethod<D> = D extends { streaming: 'server' | 'bidi' }
  ? (stream: TypedServerStream<ReqOf<D>, ResOf<D>>, ctx: CallContext) => Promise<void>
  : D extends { streaming: 'client' }
    ? (stream: TypedServerStream<ReqOf<D>, ResOf<D>>, ctx: CallContext) => Promise<ResOf<D>>
    : (req: ReqOf<D>, ctx: CallContext) => Promise<ResOf<D>>;

/** Implementation of a service: every method optional; a missing one answers UNIMPLEMENTED. */
export type ServiceImpl<M extends MethodDefs> = {
  readonly [K in keyof M]?: TypedServerMethod<M[K]>;
};

/** A client whose methods take and return messages. */
export function createTypedClient<M extends MethodDefs>(
  client: TtrpcClient,
  def: ServiceDef<M>,
): TypedClient<M> {
  const out: Record<string, unknown> = {};
  for (const [method, md] of Object.entries(def.methods)) {
    const what = `${def.name}/${method}`;
    if (md.streaming === undefined) {
      out[method] = async (req: unknown, opts?: CallOptions): Promise<unknown> => {
        const bytes = await client.call(def.name, method, encode(md, 'request', req, what), opts);
        return decode(md, 'response', bytes, what);
      };
      continue;
    }
    const open = (opts: StreamOptions): TypedClientStream<unknown, unknown> =>
      typedClientStream(client.stream(def.name, method, opts), md, what);
    const kind = md.streaming;
    out[method] =
      kind === 'server'
        ? (req: unknown, opts: CallOptions = {}) =>
            open({
              ...opts,
              streamingClient: false,
              streamingServer: true,
              payload: encode(md, 'request', req, what),
            })
        : (opts: CallOptions = {}) =>
            open({ ...opts, streamingClient: true, streamingServer: kind === 'bidi' });
  }
  return out as TypedClient<M>;
}

/** Registers `impl` for `def` on `server`; methods missing from impl answer UNIMPLEMENTED. */
export function registerTypedService<M extends MethodDefs>(
  server: TtrpcServer,
  def: ServiceDef<M>,
  impl: ServiceImpl<M>,
): void {
  const handlers: Record<string, MethodHandler> = {};
  for (const [method, md] of Object.entries(def.methods)) {
    const fn = (impl as Record<string, unknown>)[method];
    if (fn === undefined) continue;
    if (typeof fn !== 'function') {
      throw new TtrpcError(
        'invalid_argument',
        'ERR_TTRPC_PROTOCOL',
        `${def.name}/${method}: implementation is not a function`,
      );
    }
    handlers[method] = typedHandler(def.name, method, md, fn as AnyImpl);
  }
  for (const method of Object.keys(impl)) {
    if (!(method in def.methods)) {
      throw new TtrpcError(
        'invalid_argument',
        'ERR_TTRPC_PROTOCOL',
        `${def.name}: ${method} is not a method of the service`,
      );
    }
  }
  server.register(def.name, handlers);
}

type AnyImpl = (arg: unknown, ctx: CallContext) => Promise<unknown>;

function typedHandler(service: string, method: string, md: MethodDef, fn: AnyImpl): MethodHandler {
  const what = `${service}/${method}`;
  if (md.streaming === undefined) {
    return async (payload, ctx) =>
      encode(md, 'response', await fn(decode(md, 'request', payload, what), ctx), what);
  }
  const streaming = md.streaming;
  return {
    streaming,
    handler: async (stream, ctx) => {
      const typed: TypedServerStream<unknown, unknown> = {
        get request(): unknown {
          return decode(md, 'request', stream.payload, what);
        },
        send: (res) => stream.send(encode(md, 'response', res, what)),
        async *[Symbol.asyncIterator]() {
          for await (const bytes of stream) yield decode(md, 'request', bytes, what);
        },
      };
      const out = await fn(typed, ctx);
      return streaming === 'client' ? encode(md, 'response', out, what) : undefined;
    },
  };
}

function typedClientStream(
  raw: ReturnType<TtrpcClient['stream']>,
  md: MethodDef,
  what: string,
): TypedClientStream<unknown, unknown> {
  const response = raw.response.then((bytes) =>
    md.streaming === 'client' || bytes.length > 0 ? decode(md, 'response', bytes, what) : undefined,
  );
  response.catch(() => undefined);
  return {
    send: (req) => raw.send(encode(md, 'request', req, what)),
    closeSend: () => raw.closeSend(),
    response,
    async *[Symbol.asyncIterator]() {
      for await (const bytes of raw) yield decode(md, 'response', bytes, what);
    },
  };
}

function encode(
  md: MethodDef,
  side: 'request' | 'response',
  msg: unknown,
  what: string,
): Uint8Array {
  const codec = side === 'request' ? md.requestType : md.responseType;
  try {
    return codec.encode(msg).finish();
  } catch (err) {
    throw codecError(
      side === 'request' ? 'invalid_argument' : 'internal',
      `cannot encode ${what} ${side}`,
      err,
    );
  }
}

function decode(
  md: MethodDef,
  side: 'request' | 'response',
  bytes: Uint8Array,
  what: string,
): unknown {
  const codec = side === 'request' ? md.requestType : md.responseType;
  try {
    return codec.decode(bytes);
  } catch (err) {
    throw codecError(
      side === 'request' ? 'invalid_argument' : 'internal',
      `cannot decode ${what} ${side}`,
      err,
    );
  }
}

function codecError(kind: 'invalid_argument' | 'internal', message: string, err: unknown): CcError {
  const detail = err instanceof Error ? err.message : String(err);
  return new TtrpcError(kind, 'ERR_TTRPC_CODEC', `${message}: ${detail}`, { cause: err });
}
