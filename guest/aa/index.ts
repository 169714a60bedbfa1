export * from './errors.js';
export {
  AttestationAgent,
  DEFAULT_RUNTIME_REGISTER,
  initDataFieldOf,
  type AaCall,
  type AttestationAgentOptions,
} from './attestation-agent.js';
export { AA_SOCKET, registerAaService } from './aa-server.js';
export { parseAaConfig, type AaConfig } from './aa-config.js';
export { AAEL_PATH, AaEventLog, type AaEventLogOptions } from './aa-eventlog.js';
