/**
 * Turns a generated service descriptor (ts-proto `generic-definitions`: `fullName` plus methods
 * keyed in camelCase, each with its wire `name`) into the `{ name, methods }` shape the ttrpc layer
 * serves and calls, keyed by the wire method name (`CreateContainer`), with `streaming` set from
 * the descriptor's stream flags. Structural, so it does not import the ttrpc layer.
 */

/** A generated message codec as the ttrpc layer uses it. */
export interface WireCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

interface AnyCodec {
  encode(message: never): { finish(): Uint8Array };
  decode(input: Uint8Array): unknown;
}

interface GeneratedMethod {
  readonly name: string;
  readonly requestType: AnyCodec;
  readonly responseType: AnyCodec;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

export interface GeneratedService {
  readonly fullName: string;
  readonly methods: Readonly<Record<string, GeneratedMethod>>;
}

type MessageOf<C> = C extends { decode(input: Uint8Array): infer T } ? T : never;

type StreamingOf<M> = M extends { requestStream: true; responseStream: true }
  ? { readonly streaming: 'bidi' }
  : M extends { requestStream: true }
    ? { readonly streaming: 'client' }
    : M extends { responseStream: true }
      ? { readonly streaming: 'server' }
      : { readonly streaming?: undefined };

export type TtrpcMethodOf<M extends GeneratedMethod> = {
  readonly requestType: WireCodec<MessageOf<M['requestType']>>;
  readonly responseType: WireCodec<MessageOf<M['responseType']>>;
} & StreamingOf<M>;

export type TtrpcMethodsOf<D extends GeneratedService> = {
  readonly [K in keyof D['methods'] as D['methods'][K]['name']]: TtrpcMethodOf<D['methods'][K]>;
};

export interface TtrpcServiceOf<D extends GeneratedService> {
  /** Fully qualified service name, e.g. `grpc.AgentService`. */
  readonly name: D['fullName'];
  readonly methods: TtrpcMethodsOf<D>;
}

/** The ttrpc service description (`ServiceDef` of src/protocol/ttrpc) of a generated descriptor. */
export function ttrpcServiceOf<D extends GeneratedService>(definition: D): TtrpcServiceOf<D> {
  const methods: Record<string, unknown> = {};
  for (const m of Object.values(definition.methods)) {
    const streaming = m.requestStream
      ? m.responseStream
        ? 'bidi'
        : 'client'
      : m.responseStream
        ? 'server'
        : undefined;
    methods[m.name] = {
      requestType: m.requestType,
      responseType: m.responseType,
      ...(streaming === undefined ? {} : { streaming }),
    };
  }
  return { name: definition.fullName, methods: methods as TtrpcMethodsOf<D> };
}
