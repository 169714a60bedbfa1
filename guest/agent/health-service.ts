import type { ServiceImpl } from '#src/protocol/ttrpc/index.js';
import { HealthCheckResponse_ServingStatus } from '#src/protocol/agent/index.js';
import type { AgentPolicy } from '#guest/policy/index.js';
import { AgentError } from './errors.js';
import type { HEALTH_SERVICE_DEF } from './service-defs.js';

export type HealthMethods = (typeof HEALTH_SERVICE_DEF)['methods'];

/** The grpc.Health version string we report (the Kata agent reports its ttrpc API version). */
export const AGENT_API_VERSION = '0.0.1';

/** `grpc.Health`: Check answers SERVING; Version reports the agent version. Both are policy-checked. */
export function createHealthService(
  policy: AgentPolicy,
  agentVersion: string,
): ServiceImpl<HealthMethods> {
  const allowed = async (name: string, req: unknown): Promise<void> => {
    const d = await policy.check(name, req);
    if (!d.allowed)
      throw new AgentError(
        'permission_denied',
        'ERR_AGENT_POLICY',
        `${name} is blocked by policy: ${d.reason}`,
      );
  };
  return {
    Check: async (req) => {
      await allowed('CheckRequest', req);
      return { status: HealthCheckResponse_ServingStatus.SERVING };
    },
    Version: async (req) => {
      await allowed('CheckRequest', req);
      return { grpc_version: AGENT_API_VERSION, agent_version: agentVersion };
    },
  };
}
