export * from './errors.js';
export {
  GUEST_PULL_OPTION,
  MAX_PULL_METADATA_BYTES,
  parseGuestPullStorage,
  type GuestPullRequest,
} from './guest-pull-storage.js';
export {
  parseImageSettings,
  parseRegistryAuthFile,
  loadSignaturePolicy,
  checkRegistryHost,
  type ImageSettings,
} from './image-settings.js';
export { CdhClient, type CdhClientOptions, type ResourceFetcher } from './cdh-client.js';
export { DirectoryImageStore, type ImageStore, type StoreUsage } from './image-store.js';
export { EncryptedScratchStore, type EncryptedScratchOptions } from './encrypted-scratch.js';
export { GuestImagePuller, type GuestImagePullerOptions } from './guest-image-puller.js';
export {
  SharedImageCache,
  type SharedImageCacheOptions,
  type Acquired,
} from './shared-image-cache.js';
