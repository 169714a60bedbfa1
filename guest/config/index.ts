export {
  loadAgentConfig,
  parseChannel,
  parseCmdline,
  parseRegistryList,
  CMDLINE_KEYS,
} from './agent-config.js';
export type { AgentChannel, AgentConfig, ParsedConfig } from './agent-config.js';
export { AGENT_DEFAULTS, AGENT_VERSION } from './defaults.js';
export { readAgentCmdline, CMDLINE_ARG } from './agent-cmdline.js';
export { GuestConfigError, type GuestConfigErrorCode } from './errors.js';
