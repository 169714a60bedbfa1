export * from './errors.js';
export { KBS_CONFIG_DEFAULTS } from './defaults.js';
export { loadKbsConfig, parseKbsConfig, parseListen, type KbsConfig } from './kbs-config.js';
