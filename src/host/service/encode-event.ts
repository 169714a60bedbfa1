import type { RuntimeEvent } from '#src/host/runtime/index.js';
import {
  TASK_EVENTS,
  TaskCreate,
  TaskDelete,
  TaskExecAdded,
  TaskExecStarted,
  TaskExit,
  TaskOOM,
  TaskPaused,
  TaskResumed,
  TaskStart,
  type Any,
  type TaskEventName,
} from '#src/protocol/shim/index.js';
import { toTimestamp } from './timestamp.js';

export interface EncodedEvent {
  readonly topic: string;
  readonly event: Any;
}

function any(name: TaskEventName, bytes: Uint8Array): EncodedEvent {
  const { topic, typeUrl } = TASK_EVENTS[name];
  return { topic, event: { type_url: typeUrl, value: Buffer.from(bytes) } };
}

/** A runtime event as containerd's topic and typed Any (`containerd.events.Task*`). */
export function encodeEvent(e: RuntimeEvent): EncodedEvent {
  switch (e.type) {
    case 'task-create':
      return any(
        'TaskCreate',
        TaskCreate.encode({
          container_id: e.containerId,
          bundle: e.bundle,
          rootfs: e.rootfs.map((m) => ({ ...m, options: [...m.options] })),
          io: {
            stdin: e.stdio.stdin,
            stdout: e.stdio.stdout,
            stderr: e.stdio.stderr,
            terminal: e.stdio.terminal,
          },
          checkpoint: '',
          pid: e.pid,
        }).finish(),
      );
    case 'task-start':
      return any(
        'TaskStart',
        TaskStart.encode({ container_id: e.containerId, pid: e.pid }).finish(),
      );
    case 'task-exit':
      return any(
        'TaskExit',
        TaskExit.encode({
          container_id: e.containerId,
          id: e.execId === '' ? e.containerId : e.execId,
          pid: e.pid,
          exit_status: e.exitStatus,
          exited_at: toTimestamp(e.exitedAt),
          exit_reason: 0,
        }).finish(),
      );
    case 'task-delete':
      return any(
        'TaskDelete',
        TaskDelete.encode({
          container_id: e.containerId,
          id: e.execId === '' ? e.containerId : e.execId,
          pid: e.pid,
          exit_status: e.exitStatus,
          exited_at: toTimestamp(e.exitedAt),
        }).finish(),
      );
    case 'exec-added':
      return any(
        'TaskExecAdded',
        TaskExecAdded.encode({ container_id: e.containerId, exec_id: e.execId }).finish(),
      );
    case 'exec-started':
      return any(
        'TaskExecStarted',
        TaskExecStarted.encode({
          container_id: e.containerId,
          exec_id: e.execId,
          pid: e.pid,
        }).finish(),
      );
    case 'oom':
      return any('TaskOOM', TaskOOM.encode({ container_id: e.containerId }).finish());
    case 'paused':
      return any('TaskPaused', TaskPaused.encode({ container_id: e.containerId }).finish());
    case 'resumed':
      return any('TaskResumed', TaskResumed.encode({ container_id: e.containerId }).finish());
  }
}
