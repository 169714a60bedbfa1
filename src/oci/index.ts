export * from './errors.js';
export * from './reference.js';
export * from './media-types.js';
export * from './manifest.js';
export {
  DigestVerifier,
  digestOf,
  parseDigest,
  type DigestAlgorithm,
  type ParsedDigest,
} from './digest-stream.js';
export {
  Authenticator,
  parseAuthChallenge,
  type RegistryCredentials,
  type CredentialsLookup,
} from './auth.js';
export {
  RegistryClient,
  DEFAULT_RETRY,
  type RegistryClientOptions,
  type RetryPolicy,
  type FetchedManifest,
} from './registry-client.js';
export { createDecompressor, ZstdDecompressor } from './decompress.js';
export type { PullProgressEvent } from './progress.js';
export * from './ocicrypt/index.js';
export * from './signature/index.js';
export * from './unpack/index.js';
export {
  parseRegistriesConf,
  registriesConfigFromObject,
  type RegistriesConfig,
  type RegistryRule,
  type RegistryMirrorRule,
  type PullFromMirror,
} from './registries-conf.js';
export {
  pullSourcesOf,
  shortNameCandidates,
  findRegistryRule,
  type PullSource,
} from './pull-sources.js';
export {
  pullImage,
  preparePull,
  type PullImageOptions,
  type PulledImage,
  type PreparedPull,
} from './pull-image.js';
export {
  fetchImageConfig,
  readImageFile,
  MAX_IMAGE_FILE_BYTES,
  type FetchedImageConfig,
} from './image-config.js';
