export * from './errors.js';
export { parseKekParams, readKekFile, type KekParams } from './kek-params.js';
export {
  answerKeyProviderRequest,
  DEFAULT_PROVIDER_NAME,
  type KbsKeyProviderOptions,
} from './kbs-keyprovider.js';
export {
  loadKeyProviderConfig,
  parseKeyProviderConfig,
  wrapWithKeyProvider,
  keyProviderUnwrapper,
  OCICRYPT_KEYPROVIDER_CONFIG,
  type KeyProviderCommand,
  type KeyProviderConfig,
} from './ocicrypt-config.js';
export { parseLayoutRef, type LayoutRef } from './oci-layout.js';
export {
  encryptLayout,
  parseEncryptionKey,
  type EncryptionRecipient,
  type EncryptLayoutOptions,
  type EncryptLayoutResult,
} from './encrypt-layout.js';
