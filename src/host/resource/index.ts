export { ResourceError, type ResourceErrorCode } from './errors.js';
export {
  buildRootfsImage,
  mountRootfs,
  unmount,
  isMountPoint,
  type RootfsMount,
  type RootfsImage,
  type BuildRootfsImageOptions,
} from './host-rootfs.js';
