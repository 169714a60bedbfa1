export type {
  VmSpec,
  AgentChannelSpec,
  DiskSpec,
  NetDeviceSpec,
  TeeSpec,
  TeeKind,
  Accel,
  AccelMode,
} from './vm-spec.js';
export { isConfidential } from './vm-spec.js';
export { HypervisorError, type HypervisorErrorCode } from './errors.js';
export {
  startVm,
  type Vm,
  type VmState,
  type StartVmOptions,
  type VmOpOptions,
  type VmStopOptions,
} from './vm.js';
export {
  DiskHotplug,
  hotplugNodeName,
  type HotplugQmp,
  type DetachDiskOptions,
} from './disk-hotplug.js';
export {
  buildQemuArgs,
  baseArgs,
  machineArgs,
  cpuArgs,
  memoryArgs,
  teeArgs,
  kernelArgs,
  diskArgs,
  checkDiskId,
  hotplugPorts,
  hotplugPortArgs,
  HOTPLUG_PORT_COUNT,
  agentChannelArgs,
  consoleArgs,
  qmpArgs,
  optValue,
  ROOT_DISK_SERIAL,
  VERITY_ROOTHASH_PARAM,
  AGENT_PORT_NAME,
  BASE_KERNEL_PARAMS,
  type QemuCommandOptions,
  type Machine,
} from './qemu-args.js';
export {
  checkNetDevice,
  checkNetworkNamespace,
  netDeviceArgs,
  qemuLaunch,
} from './net-device-args.js';
export { validateVmSpec, MAX_SOCKET_PATH } from './validate-vm-spec.js';
export { probeTee, requireTee, TEE_SYSFS_PARAMETER, type TeeSupport } from './tee-host.js';
export {
  resolveAccel,
  probeKvmBoot,
  PROBE_MARKER,
  type AccelDecision,
  type AccelProbeOptions,
} from './accel-probe.js';
export {
  SupervisedProcess,
  describeExit,
  type ExitInfo,
  type SpawnSupervisedOptions,
  type CloseOptions,
} from './process-supervisor.js';
export { QmpClient, type QmpEvent, type QmpStatus, type QmpConnectOptions } from './qmp-client.js';
export { QmpDecoder, parseQmpMessage, QMP_MAX_LINE, type QmpMessage } from './qmp-decoder.js';
export {
  readConsoleTail,
  consoleContains,
  waitForConsoleMarker,
  type WaitForConsoleOptions,
} from './console-tail.js';
export {
  locateGuestImage,
  parseGuestImageManifest,
  imageVmSpecPart,
  bootKernel,
  GUEST_IMAGE_MANIFEST_VERSION,
  type GuestImage,
} from './guest-image.js';
