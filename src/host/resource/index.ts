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
export { createScratchDisk, SCRATCH_DISK_SERIAL } from './scratch-disk.js';
