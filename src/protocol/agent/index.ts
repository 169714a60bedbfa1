/**
 * The Kata agent API (`grpc.AgentService`, `grpc.Health`): generated message types and codecs,
 * re-exported for `src/host/agent` (client) and `guest/agent` (server). Each message name is both
 * an interface and a codec object with `encode`, `decode`, `create` and `fromPartial`; decode
 * throws on malformed input and on 64-bit integers beyond Number.MAX_SAFE_INTEGER.
 */
import type { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import { AgentServiceDefinition as agentDefinition } from '../generated/agent/agent.js';
import { HealthDefinition as healthDefinition } from '../generated/agent/health.js';
import { ttrpcServiceOf as toTtrpc } from './ttrpc-service.js';

/** What every generated message codec offers (ts-proto's MessageFns, minus the partial types). */
export interface MessageCodec<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: BinaryReader | Uint8Array, length?: number): T;
}

/** Fully qualified ttrpc service names. */
export const AGENT_SERVICE = 'grpc.AgentService';
export const HEALTH_SERVICE = 'grpc.Health';

export { ttrpcServiceOf } from './ttrpc-service.js';
export type {
  GeneratedService,
  TtrpcMethodOf,
  TtrpcMethodsOf,
  TtrpcServiceOf,
  WireCodec,
} from './ttrpc-service.js';

export {
  AgentServiceDefinition,
  ARPNeighbors,
  AddARPNeighborsRequest,
  AddSwapRequest,
  AgentDetails,
  BlkioStats,
  BlkioStatsEntry,
  CgroupStats,
  CloseStdinRequest,
  CopyFileRequest,
  CpuStats,
  CpuUsage,
  CreateContainerRequest,
  CreateSandboxRequest,
  DestroySandboxRequest,
  Device,
  ExecProcessRequest,
  FSGroup,
  GetIPTablesRequest,
  GetIPTablesResponse,
  GetMetricsRequest,
  GetOOMEventRequest,
  GuestDetailsRequest,
  GuestDetailsResponse,
  HugetlbStats,
  Interfaces,
  KernelModule,
  ListInterfacesRequest,
  ListRoutesRequest,
  MemAgentCompactConfig,
  MemAgentMemcgConfig,
  MemHotplugByProbeRequest,
  MemoryData,
  MemoryStats,
  Metrics,
  NetworkStats,
  OOMEvent,
  OnlineCPUMemRequest,
  PauseContainerRequest,
  PidsStats,
  ReadStreamRequest,
  ReadStreamResponse,
  RemoveContainerRequest,
  RemoveStaleVirtiofsShareMountsRequest,
  ReseedRandomDevRequest,
  ResizeVolumeRequest,
  ResumeContainerRequest,
  Routes,
  SetGuestDateTimeRequest,
  SetIPTablesRequest,
  SetIPTablesResponse,
  SetPolicyRequest,
  SharedMount,
  SignalProcessRequest,
  StartContainerRequest,
  StatsContainerRequest,
  StatsContainerResponse,
  Storage,
  StringUser,
  ThrottlingData,
  TtyWinResizeRequest,
  UpdateContainerRequest,
  UpdateEphemeralMountsRequest,
  UpdateInterfaceRequest,
  UpdateRoutesRequest,
  VolumeStatsRequest,
  WaitProcessRequest,
  WaitProcessResponse,
  WriteStreamRequest,
  WriteStreamResponse,
} from '../generated/agent/agent.js';

export {
  Box,
  Hook,
  Hooks,
  Linux,
  LinuxBlockIO,
  LinuxCPU,
  LinuxCapabilities,
  LinuxDevice,
  LinuxDeviceCgroup,
  LinuxHugepageLimit,
  LinuxIDMapping,
  LinuxIntelRdt,
  LinuxInterfacePriority,
  LinuxMemory,
  LinuxNamespace,
  LinuxNetwork,
  LinuxPids,
  LinuxResources,
  LinuxSeccomp,
  LinuxSeccompArg,
  LinuxSyscall,
  LinuxThrottleDevice,
  LinuxWeightDevice,
  Mount,
  POSIXRlimit,
  Process,
  Root,
  Solaris,
  Spec,
  User,
  Windows,
} from '../generated/agent/oci.js';

export {
  ARPNeighbor,
  FSGroupChangePolicy,
  IPAddress,
  IPFamily,
  Interface,
  Route,
} from '../generated/agent/types.js';

export {
  VolumeCondition,
  VolumeStatsResponse,
  VolumeUsage,
  VolumeUsage_Unit,
} from '../generated/agent/csi.js';

export {
  CheckRequest,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthDefinition,
  VersionCheckResponse,
} from '../generated/agent/health.js';

export { Empty } from '../generated/google/protobuf/empty.js';

/** `grpc.AgentService` as a ttrpc ServiceDef: methods keyed by wire name (`CreateContainer`). */
export const agentService = toTtrpc(agentDefinition);
/** `grpc.Health` as a ttrpc ServiceDef (`Check`, `Version`). */
export const healthService = toTtrpc(healthDefinition);
