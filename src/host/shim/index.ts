export { ShimError, type ShimErrorCode } from './errors.js';
export { parseShimFlags, serverArgv, requireFlags, type ShimFlags } from './shim-flags.js';
export {
  socketAddress,
  socketPathOf,
  groupingId,
  readBundleAnnotations,
  SHIM_SOCKET_DIR,
  GROUP_ANNOTATIONS,
} from './socket-address.js';
export { runStart, canConnect, type StartOptions } from './shim-start.js';
export { runDelete, type DeleteOptions } from './shim-delete.js';
export { runServe, type ServeOptions } from './shim-serve.js';
export {
  readStartInput,
  detectStartProtocol,
  flagsFromBootstrap,
  bootstrapSocketDir,
  encodeStartAnswer,
  encodeRuntimeInfo,
  RUNTIME_NAME,
  MAX_START_INPUT,
  type StartAnswerFormat,
  type StartProtocol,
} from './shim-bootstrap.js';
