export { AgentError, type AgentErrorCode } from './errors.js';
export {
  AgentClient,
  type GuestStorage,
  type ContainerStatsData,
  type CallOpts,
} from './agent-client.js';
export { connectAgent, type ConnectAgentOptions } from './connect-agent.js';
export { connectAgentChannel, type AgentChannel } from './agent-channel.js';
export {
  toAgentSpec,
  toAgentProcess,
  toAgentResources,
  GUEST_SHARED_FILES_DIR,
} from './oci-to-agent.js';
export {
  toAgentInterface,
  toAgentRoute,
  type GuestInterfaceUpdate,
  type GuestRouteUpdate,
} from './network-to-agent.js';
