export { GuestNetworkError, invalidNet, type GuestNetworkErrorCode } from './errors.js';
export type {
  InterfaceUpdate,
  IpFamily,
  NetAddress,
  NetInterface,
  NetRoute,
  RawInterface,
  RawIpAddress,
  RawRoute,
} from './types.js';
export {
  checkCidr,
  checkFamily,
  checkInterfaceName,
  checkIp,
  checkMac,
  NET_LIMITS,
  parseInterfaceUpdate,
  parseRoutes,
} from './validate-network.js';
export { parseIpAddrOneline, parseIpRoutes } from './ip-output.js';
export {
  busyboxIp,
  GuestNetwork,
  routeAddArgs,
  type GuestNetworkOptions,
  type IpRunner,
} from './guest-network.js';
export {
  COPY_FILE_ROOT,
  copyFileChunk,
  copyFilePolicyInput,
  copyFileType,
  MAX_COPY_FILE_BYTES,
  MAX_SYMLINK_TARGET_BYTES,
  parseCopyFile,
  type CopyDirectory,
  type CopyFileChunk,
  type CopyFileEntry,
  type CopySymlink,
  type RawCopyFile,
} from './copy-file.js';
