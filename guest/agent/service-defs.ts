import type { MessageCodec, MethodDef, ServiceDef } from '#src/protocol/ttrpc/index.js';
import { AgentServiceDefinition, HealthDefinition } from '#src/protocol/agent/index.js';

interface GeneratedMethod {
  readonly name: string;
  readonly requestType: MessageCodec<unknown>;
  readonly responseType: MessageCodec<unknown>;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

interface GeneratedService {
  readonly fullName: string;
  readonly methods: Readonly<Record<string, GeneratedMethod>>;
}

type CodecOf<C> = C extends MessageCodec<infer T> ? T : never;

/** ttrpc method table keyed by wire method name (`CreateContainer`), as ts-proto declared it. */
export type WireMethods<G extends GeneratedService> = {
  readonly [K in keyof G['methods'] as G['methods'][K]['name']]: MethodDef<
    CodecOf<G['methods'][K]['requestType']>,
    CodecOf<G['methods'][K]['responseType']>
  >;
};

/** Turns a ts-proto generic service definition into a ttrpc ServiceDef keyed by wire names. */
export function wireServiceDef<G extends GeneratedService>(gen: G): ServiceDef<WireMethods<G>> {
  const methods: Record<string, MethodDef> = {};
  for (const m of Object.values(gen.methods)) {
    if (m.requestStream || m.responseStream) continue; // the agent API is unary
    methods[m.name] = { requestType: m.requestType, responseType: m.responseType };
  }
  return { name: gen.fullName, methods: methods as WireMethods<G> };
}

/** `grpc.AgentService`, keyed by wire method name. */
export const AGENT_SERVICE_DEF = wireServiceDef(AgentServiceDefinition);
/** `grpc.Health`, keyed by wire method name. */
export const HEALTH_SERVICE_DEF = wireServiceDef(HealthDefinition);
