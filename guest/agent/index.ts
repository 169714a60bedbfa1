export { AgentServer } from './agent-server.js';
export type { AgentServerOptions } from './agent-server.js';
export { createAgentService, MAX_READ_LEN, STORAGE_HANDLERS } from './agent-service.js';
export type { AgentMethods, AgentServiceOptions } from './agent-service.js';
export { createHealthService, AGENT_API_VERSION } from './health-service.js';
export type { HealthMethods } from './health-service.js';
export { AGENT_SERVICE_DEF, HEALTH_SERVICE_DEF } from './service-defs.js';
export {
  fromAgentProcess,
  fromAgentResources,
  fromAgentSpec,
  fromAgentStorages,
  toAgentCgroupStats,
  LIMITS,
} from './translate.js';
export { AgentError } from './errors.js';
export type { AgentErrorCode } from './errors.js';
export { serveChannel, prepareDirs } from './serve-channel.js';
export { ComponentsSupervisor } from './components-supervisor.js';
export type { ComponentsState, ComponentsSupervisorOptions } from './components-supervisor.js';
export {
  CDH_SOCKET_PATH,
  SEALED_PREFIX,
  createCdhUnsealer,
  hasSealedEnv,
  unsealEnv,
} from './sealed-env.js';
export type { CdhUnsealerOptions, SecretUnsealer } from './sealed-env.js';
export {
  SEALED_VOLUME_LIMITS,
  SEALED_VOLUME_ROOT,
  removeAllUnsealedVolumes,
  removeUnsealedVolumes,
  unsealVolumes,
} from './sealed-volumes.js';
export type { SealedVolumeOptions } from './sealed-volumes.js';
