/** Domain types of the runtime (the service translates the task API into these). */

export interface MountSpec {
  readonly type: string;
  readonly source: string;
  readonly target: string;
  readonly options: readonly string[];
}

export interface StdioSpec {
  /** Paths (FIFOs) or URIs (`binary://`, `file://`, `fifo://`); '' when not connected. */
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly terminal: boolean;
}

export interface CreateTaskSpec {
  readonly containerId: string;
  readonly bundle: string;
  readonly rootfs: readonly MountSpec[];
  readonly stdio: StdioSpec;
}

export interface ExecSpec {
  readonly containerId: string;
  readonly execId: string;
  readonly stdio: StdioSpec;
  /** The OCI `process` object, validated by the backend's translator. */
  readonly process: unknown;
}

export type ProcessStatus = 'created' | 'running' | 'stopped' | 'paused' | 'pausing' | 'unknown';

export interface ProcessInfo {
  readonly containerId: string;
  readonly execId: string;
  readonly bundle: string;
  readonly pid: number;
  readonly status: ProcessStatus;
  readonly stdio: StdioSpec;
  readonly exitStatus: number;
  readonly exitedAt: Date | undefined;
}

export interface ExitInfo {
  readonly pid: number;
  readonly exitStatus: number;
  readonly exitedAt: Date;
}

/** What the runtime tells containerd, in order (the service encodes them). */
export type RuntimeEvent =
  | {
      readonly type: 'task-create';
      readonly containerId: string;
      readonly bundle: string;
      readonly rootfs: readonly MountSpec[];
      readonly stdio: StdioSpec;
      readonly pid: number;
    }
  | { readonly type: 'task-start'; readonly containerId: string; readonly pid: number }
  | {
      readonly type: 'task-exit';
      readonly containerId: string;
      readonly execId: string;
      readonly pid: number;
      readonly exitStatus: number;
      readonly exitedAt: Date;
    }
  | {
      readonly type: 'task-delete';
      readonly containerId: string;
      readonly execId: string;
      readonly pid: number;
      readonly exitStatus: number;
      readonly exitedAt: Date;
    }
  | { readonly type: 'exec-added'; readonly containerId: string; readonly execId: string }
  | {
      readonly type: 'exec-started';
      readonly containerId: string;
      readonly execId: string;
      readonly pid: number;
    }
  | { readonly type: 'oom'; readonly containerId: string }
  | { readonly type: 'paused'; readonly containerId: string }
  | { readonly type: 'resumed'; readonly containerId: string };

export interface EventSink {
  /** Queues an event; delivery is in order and retried by the sink. */
  publish(event: RuntimeEvent): void;
}

export interface ContainerStats {
  readonly cpuUsageNs: number;
  readonly memoryUsageBytes: number;
  readonly memoryLimitBytes: number;
  readonly pids: number;
}
