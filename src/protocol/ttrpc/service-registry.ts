import { TtrpcError } from './errors.js';
import type { MethodHandler, ServiceHandlers } from './handlers.js';
import { GRPC_CODE } from './status.js';
import type { WireStatus } from './status.js';

/** Registered services and their methods. @internal */
export class ServiceRegistry {
  readonly #services = new Map<string, ReadonlyMap<string, MethodHandler>>();

  register(service: string, methods: ServiceHandlers): void {
    if (service === '') {
      throw new TtrpcError(
        'invalid_argument',
        'ERR_TTRPC_PROTOCOL',
        'cannot register a service without a name',
      );
    }
    if (this.#services.has(service)) {
      throw new TtrpcError(
        'already_exists',
        'ERR_TTRPC_PROTOCOL',
        `duplicate service ${service} registered`,
      );
    }
    this.#services.set(service, new Map(Object.entries(methods)));
  }

  /** The handler, or the UNIMPLEMENTED status upstream answers ("service X" / "method Y"). */
  resolve(service: string, method: string): MethodHandler | WireStatus {
    const methods = this.#services.get(service);
    if (!methods) return { code: GRPC_CODE.unimplemented, message: `service ${service}` };
    const handler = methods.get(method);
    if (!handler) return { code: GRPC_CODE.unimplemented, message: `method ${method}` };
    return handler;
  }
}
