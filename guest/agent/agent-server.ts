import type { Duplex } from 'node:stream';
import type { Logger } from '#src/lib/index.js';
import { TtrpcServer, registerTypedService } from '#src/protocol/ttrpc/index.js';
import type { Sandbox } from '#guest/sandbox/index.js';
import type { AgentPolicy } from '#guest/policy/index.js';
import { createAgentService } from './agent-service.js';
import { createHealthService } from './health-service.js';
import type { SecretUnsealer } from './sealed-env.js';
import { AGENT_SERVICE_DEF, HEALTH_SERVICE_DEF } from './service-defs.js';

export interface AgentServerOptions {
  readonly sandbox: Sandbox;
  readonly policy: AgentPolicy;
  readonly log: Logger;
  readonly agentVersion: string;
  readonly sysfs: string;
  readonly onDestroyed?: (() => void) | undefined;
  readonly unsealer?: SecretUnsealer | undefined;
}

/** The agent's ttrpc server: `grpc.AgentService` + `grpc.Health` over any byte stream. */
export class AgentServer {
  readonly #server: TtrpcServer;
  readonly #sandbox: Sandbox;

  constructor(o: AgentServerOptions) {
    this.#sandbox = o.sandbox;
    this.#server = new TtrpcServer({ logger: o.log });
    registerTypedService(this.#server, AGENT_SERVICE_DEF, createAgentService(o));
    registerTypedService(
      this.#server,
      HEALTH_SERVICE_DEF,
      createHealthService(o.policy, o.agentVersion),
    );
  }

  /** Serves one connection until it closes. */
  serve(stream: Duplex): Promise<void> {
    return this.#server.serve(stream);
  }

  /** Serves every connection of a unix socket (tests, hybrid setups). */
  listen(path: string): Promise<void> {
    return this.#server.listen(path);
  }

  /** Stops serving and destroys the sandbox (every container is killed). */
  async close(): Promise<void> {
    await this.#server.close();
    await this.#sandbox.destroy();
  }
}
