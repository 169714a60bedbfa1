export { Sandbox, MAX_CONTAINERS } from './sandbox.js';
export type { SandboxOptions, SandboxState, CreateSandboxParams } from './sandbox.js';
export { Container, MAX_EXEC_PROCESSES } from './container.js';
export type { ContainerState } from './container.js';
export { ContainerProcess, MAX_WINDOW_SIZE } from './container-process.js';
export { ConsoleSocket } from './console-socket.js';
export { Terminal } from './terminal.js';
export type { ProcessState, StreamName } from './container-process.js';
export { OutputBuffer, OUTPUT_BUFFER_BYTES } from './output-buffer.js';
export { CommandMounter } from './mounter.js';
export { GUEST_PULL_DRIVER, resolveBlockDevice } from './storage.js';
export type { GuestPullHandler, GuestPullMount, StorageOptions } from './storage.js';
export type { Mounter } from './mounter.js';
export { SandboxError } from './errors.js';
export type { SandboxErrorCode } from './errors.js';
export {
  checkId,
  checkAbsolutePath,
  checkBounded,
  checkList,
  checkText,
  isWithin,
  MAX_ID_LENGTH,
} from './validate.js';
export { parseFlatKeyed, removeCgroupPath, detectCgroupMode } from './cgroup.js';
export type { CgroupMode } from './cgroup.js';
export type * from './types.js';
