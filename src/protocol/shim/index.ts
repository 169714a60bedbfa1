/**
 * containerd's side of the shim: task API v2 (and v3), events, runtime options, bootstrap and
 * cgroup v2 metrics. Generated message types and codecs for `src/host/shim` and `src/host/service`.
 * Task API v3 messages are wire-identical to v2 except CreateTaskRequest (no oom_path); its
 * codecs are in the `taskV3` namespace object.
 */
import { ttrpcServiceOf } from '../agent/index.js';
import { TaskDefinition as taskV2Definition } from '../generated/containerd/task/v2/shim.js';
import { TaskDefinition as taskV3Definition } from '../generated/containerd/task/v3/shim.js';
import { EventsDefinition as eventsDefinition } from '../generated/containerd/services/ttrpc/events/v1/events.js';

export type { MessageCodec } from '../agent/index.js';

/** Fully qualified ttrpc service names. */
export const TASK_SERVICE_V2 = 'containerd.task.v2.Task';
export const TASK_SERVICE_V3 = 'containerd.task.v3.Task';
export const EVENTS_SERVICE = 'containerd.services.events.ttrpc.v1.Events';

/** The `type_url` of the Any payloads a shim sends and receives (containerd's typeurl names). */
export const TYPE_URLS = {
  runtimeOptions: 'runtimeoptions.v1.Options',
  runcOptions: 'containerd.runc.v1.Options',
  cgroupV2Metrics: 'io.containerd.cgroups.v2.Metrics',
  ociProcess: 'types.containerd.io/opencontainers/runtime-spec/1/Process',
  ociLinuxResources: 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources',
} as const;

/** Event message name → containerd topic and Any type_url, as containerd's runtime publishes them. */
export const TASK_EVENTS = {
  TaskCreate: { topic: '/tasks/create', typeUrl: 'containerd.events.TaskCreate' },
  TaskStart: { topic: '/tasks/start', typeUrl: 'containerd.events.TaskStart' },
  TaskDelete: { topic: '/tasks/delete', typeUrl: 'containerd.events.TaskDelete' },
  TaskExit: { topic: '/tasks/exit', typeUrl: 'containerd.events.TaskExit' },
  TaskOOM: { topic: '/tasks/oom', typeUrl: 'containerd.events.TaskOOM' },
  TaskExecAdded: { topic: '/tasks/exec-added', typeUrl: 'containerd.events.TaskExecAdded' },
  TaskExecStarted: { topic: '/tasks/exec-started', typeUrl: 'containerd.events.TaskExecStarted' },
  TaskPaused: { topic: '/tasks/paused', typeUrl: 'containerd.events.TaskPaused' },
  TaskResumed: { topic: '/tasks/resumed', typeUrl: 'containerd.events.TaskResumed' },
  TaskCheckpointed: {
    topic: '/tasks/checkpointed',
    typeUrl: 'containerd.events.TaskCheckpointed',
  },
} as const;
export type TaskEventName = keyof typeof TASK_EVENTS;

export {
  TaskDefinition,
  CheckpointTaskRequest,
  CloseIORequest,
  ConnectRequest,
  ConnectResponse,
  CreateTaskRequest,
  CreateTaskResponse,
  DeleteRequest,
  DeleteResponse,
  ExecProcessRequest,
  ExecProcessResponse,
  KillRequest,
  PauseRequest,
  PidsRequest,
  PidsResponse,
  ResizePtyRequest,
  ResumeRequest,
  ShutdownRequest,
  StartRequest,
  StartResponse,
  StateRequest,
  StateResponse,
  StatsRequest,
  StatsResponse,
  UpdateTaskRequest,
  WaitRequest,
  WaitResponse,
} from '../generated/containerd/task/v2/shim.js';

export { TaskDefinition as TaskV3Definition } from '../generated/containerd/task/v3/shim.js';
export * as taskV3 from '../generated/containerd/task/v3/shim.js';

export { Mount } from '../generated/containerd/types/mount.js';
export { Envelope } from '../generated/containerd/types/event.js';
export {
  ExitReason,
  Process as TaskProcess,
  ProcessInfo,
  Status as TaskStatus,
} from '../generated/containerd/types/task.js';

export {
  TaskCheckpointed,
  TaskCreate,
  TaskDelete,
  TaskExecAdded,
  TaskExecStarted,
  TaskExit,
  TaskIO,
  TaskOOM,
  TaskPaused,
  TaskResumed,
  TaskStart,
} from '../generated/containerd/events/task.js';

export {
  EventsDefinition,
  ForwardRequest,
} from '../generated/containerd/services/ttrpc/events/v1/events.js';

export {
  CheckpointOptions as RuncCheckpointOptions,
  Options as RuncOptions,
  ProcessDetails as RuncProcessDetails,
} from '../generated/containerd/runc/options.js';
export { Options as RuntimeOptions } from '../generated/containerd/runtimeoptions/v1/api.js';

export {
  BootstrapParams,
  BootstrapResult,
  Capability as BootstrapCapability,
  Extension as BootstrapExtension,
  LogLevel as BootstrapLogLevel,
} from '../generated/containerd/bootstrap/v1/bootstrap.js';

export {
  CPUStat,
  HugeTlbStat,
  IOEntry,
  IOStat,
  MemoryEvents,
  MemoryStat,
  Metrics as CgroupV2Metrics,
  PidsStat,
  RdmaEntry,
  RdmaStat,
} from '../generated/cgroups/v2/metrics.js';

export { Any } from '../generated/google/protobuf/any.js';
export {
  RuntimeInfo,
  RuntimeRequest,
  RuntimeVersion,
} from '../generated/containerd/types/introspection.js';
export { Empty } from '../generated/google/protobuf/empty.js';
export { Timestamp } from '../generated/google/protobuf/timestamp.js';

/** `containerd.task.v2.Task` as a ttrpc ServiceDef, methods keyed by wire name (`Create`). */
export const taskServiceV2 = ttrpcServiceOf(taskV2Definition);
/** `containerd.task.v3.Task` as a ttrpc ServiceDef; `Events` is server-streaming. */
export const taskServiceV3 = ttrpcServiceOf(taskV3Definition);
/** `containerd.services.events.ttrpc.v1.Events` (`Forward`) as a ttrpc ServiceDef. */
export const eventsService = ttrpcServiceOf(eventsDefinition);
