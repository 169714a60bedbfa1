export {
  buildGuestImage,
  type BuildGuestImageOptions,
  type GuestBuildResult,
} from './guest-builder.js';
export {
  readGuestManifest,
  parseGuestManifest,
  GUEST_MANIFEST_VERSION,
  type GuestManifest,
  type CurrentPointer,
} from './manifest.js';
export {
  GUEST_INIT_MARKERS,
  ROOT_DISK_SERIAL,
  GUEST_NODE,
  GUEST_AGENT_ENTRY,
} from './init-script.js';
export { GUEST_NATIVE_ADDON, GUEST_PAUSE_BUNDLE, PAUSE_ARGS } from './rootfs.js';
export { GuestBuildError, type GuestBuildErrorCode } from './errors.js';
