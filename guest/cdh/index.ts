export * from './errors.js';
export {
  ConfidentialDataHub,
  type ConfidentialDataHubOptions,
  type HubCall,
  type ResourceSource,
} from './confidential-data-hub.js';
export { CDH_SOCKET, registerCdhServices } from './cdh-server.js';
export {
  parseSealedSecret,
  unsealSecret,
  SEALED_PREFIX,
  SEALED_SECRET_VERSION,
  type ParsedSealedSecret,
  type SealedSecret,
  type ResourceGetter,
  type UnsealOptions,
} from './sealed-secret.js';
export { unwrapKey } from './key-unwrap.js';
export { openA256Gcm, sealA256Gcm } from './aes-gcm.js';
export { parseCdhConfig, socketPath, type CdhConfig } from './cdh-config.js';
export {
  startGuestComponents,
  type GuestComponentsOptions,
  type RunningGuestComponents,
} from './guest-components.js';
