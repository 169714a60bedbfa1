export { RuntimeError, type RuntimeErrorCode } from './errors.js';
export type {
  ContainerStats,
  CreateTaskSpec,
  EventSink,
  ExecSpec,
  ExitInfo,
  MountSpec,
  ProcessInfo,
  ProcessStatus,
  RuntimeEvent,
  StdioSpec,
} from './types.js';
export type {
  BackendContainer,
  BackendProcessIo,
  SandboxBackend,
  SandboxBackendFactory,
  SandboxStartSpec,
} from './sandbox-backend.js';
export { PodRuntime, type PodRuntimeOptions } from './pod-runtime.js';
export { PROCESS_TRANSITIONS, type ProcessState } from './task-process.js';
export { openHostStdio, type HostStdio } from './host-stdio.js';
export { readOciBundle, sandboxOf, type OciBundle } from './oci-bundle.js';
export { cleanupLostSandbox, type CleanupLostSandboxOptions } from './lost-sandbox.js';
export {
  VmSandboxFactory,
  GUEST_CONTAINERS_DIR,
  type VmSandboxFactoryOptions,
} from './vm-sandbox.js';
