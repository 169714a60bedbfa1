export { HOST_CONFIG_SCHEMA, type FieldSpec, type FieldDoc, type SectionName } from './schema.js';
export type { HostConfig, LoadedHostConfig, ConfigSources } from './host-config.js';
export {
  loadHostConfig,
  parseSetFlags,
  DEFAULT_CONFIG_PATH,
  CONFIG_ENV_VAR,
  type ConfigLayer,
  type LoadHostConfigOptions,
} from './load-host-config.js';
export { ConfigError, type ConfigErrorCode } from './errors.js';
export { formatConfig } from './format-config.js';
