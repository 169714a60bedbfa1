export { NetworkError, type NetworkErrorCode } from './errors.js';
export type { IpFamily, PodEndpoint, PodInterface, PodIpAddress, PodRoute } from './types.js';
export {
  parseIpJsonArray,
  parseIpRoutes,
  selectPodInterfaces,
  TAP_SUFFIX,
  WIRED_KINDS,
  type ScannedLinks,
  type SkippedLink,
} from './ip-json.js';
export { inNetns, networkNamespaceOf, nsenterCommand, type NetnsCommand } from './netns.js';
export {
  MAX_POD_INTERFACES,
  PodNetwork,
  redirectCommands,
  unwireCommands,
  wireCommands,
  type PodNetworkOptions,
} from './pod-network.js';
