import { agentService, healthService } from '#src/protocol/agent/index.js';

/**
 * `grpc.AgentService`, keyed by wire method name (`CreateContainer`): the one description in
 * `src/protocol/agent`, shared with the host's client.
 */
export const AGENT_SERVICE_DEF = agentService;
/** `grpc.Health`, keyed by wire method name. */
export const HEALTH_SERVICE_DEF = healthService;
