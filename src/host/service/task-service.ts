import { CcError, describeError, type Logger } from '#src/lib/index.js';
import type { PodRuntime, ProcessInfo } from '#src/host/runtime/index.js';
import {
  CloseIORequest,
  ConnectRequest,
  ConnectResponse,
  CreateTaskRequest,
  CreateTaskResponse,
  DeleteRequest,
  DeleteResponse,
  Empty,
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
  TaskStatus,
  UpdateTaskRequest,
  WaitRequest,
  WaitResponse,
  taskV3,
  type MessageCodec,
} from '#src/protocol/shim/index.js';
import type { CallContext, ServiceHandlers, UnaryHandler } from '#src/protocol/ttrpc/index.js';
import { ServiceError } from './errors.js';
import { encodeStats } from './encode-stats.js';
import { decodeJsonAny } from './json-any.js';
import { toTimestamp } from './timestamp.js';

export interface TaskServiceOptions {
  readonly runtime: PodRuntime;
  readonly logger: Logger;
  readonly shimPid: number;
  /** Called after Shutdown answered, when the shim should exit. */
  readonly onShutdown: () => void;
}

const STATUS = {
  created: TaskStatus.CREATED,
  running: TaskStatus.RUNNING,
  stopped: TaskStatus.STOPPED,
  paused: TaskStatus.PAUSED,
  pausing: TaskStatus.PAUSING,
  unknown: TaskStatus.UNKNOWN,
} as const;

function unary<Req, Res>(
  req: MessageCodec<Req>,
  res: MessageCodec<Res>,
  fn: (r: Req, ctx: CallContext) => Promise<Res>,
  log: Logger,
  method: string,
): UnaryHandler {
  return async (payload, ctx) => {
    let decoded: Req;
    try {
      decoded = req.decode(payload);
    } catch (err) {
      throw new ServiceError(
        'invalid_argument',
        'ERR_SERVICE_REQUEST',
        `malformed ${method} request`,
        { cause: err },
      );
    }
    if (log.trace.enabled('task')) log.debug('task call', { method });
    try {
      return res.encode(await fn(decoded, ctx)).finish();
    } catch (err) {
      log.debug('task call failed', { method, err: describeError(err) });
      if (err instanceof CcError) throw err;
      throw new ServiceError(
        'internal',
        'ERR_SERVICE_REQUEST',
        `${method} failed: ${describeError(err)}`,
        { cause: err },
      );
    }
  };
}

function stateResponse(p: ProcessInfo): StateResponse {
  return {
    id: p.containerId,
    bundle: p.bundle,
    pid: p.pid,
    status: STATUS[p.status],
    stdin: p.stdio.stdin,
    stdout: p.stdio.stdout,
    stderr: p.stdio.stderr,
    terminal: p.stdio.terminal,
    exit_status: p.exitStatus,
    exited_at: p.exitedAt === undefined ? undefined : toTimestamp(p.exitedAt),
    exec_id: p.execId,
  };
}

function createHandler(
  o: TaskServiceOptions,
): (r: CreateTaskRequest, ctx: CallContext) => Promise<CreateTaskResponse> {
  return async (r, ctx) => {
    if (r.checkpoint !== '') {
      throw new ServiceError(
        'unimplemented',
        'ERR_SERVICE_UNIMPLEMENTED',
        'restoring from a checkpoint is not supported',
      );
    }
    const pid = await o.runtime.create(
      {
        containerId: r.id,
        bundle: r.bundle,
        rootfs: r.rootfs,
        stdio: { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, terminal: r.terminal },
      },
      ctx.signal,
    );
    return { pid };
  };
}

/** The `containerd.task.v2.Task` (and v3) methods over a PodRuntime; the rest answer UNIMPLEMENTED. */
export function createTaskHandlers(o: TaskServiceOptions, version: 2 | 3 = 2): ServiceHandlers {
  const rt = o.runtime;
  const log = o.logger.child({ subsystem: 'service' });
  const createCodec: MessageCodec<CreateTaskRequest> =
    version === 2
      ? CreateTaskRequest
      : (taskV3.CreateTaskRequest as unknown as MessageCodec<CreateTaskRequest>);
  const u = <Req, Res>(
    m: string,
    req: MessageCodec<Req>,
    res: MessageCodec<Res>,
    fn: (r: Req, ctx: CallContext) => Promise<Res>,
  ) => unary(req, res, fn, log, m);
  return {
    Create: u('Create', createCodec, CreateTaskResponse, createHandler(o)),
    Start: u('Start', StartRequest, StartResponse, async (r, ctx) => ({
      pid: await rt.start(r.id, r.exec_id, ctx.signal),
    })),
    State: u('State', StateRequest, StateResponse, (r) =>
      Promise.resolve(stateResponse(rt.state(r.id, r.exec_id))),
    ),
    Pids: u('Pids', PidsRequest, PidsResponse, async (r, ctx) => ({
      processes: (await rt.pids(r.id, ctx.signal)).map((pid) => ({ pid, info: undefined })),
    })),
    Kill: u('Kill', KillRequest, Empty, async (r, ctx) => {
      await rt.kill(r.id, r.exec_id, r.signal, r.all, ctx.signal);
      return {};
    }),
    Exec: u('Exec', ExecProcessRequest, ExecProcessResponse, (r) => {
      rt.exec({
        containerId: r.id,
        execId: r.exec_id,
        stdio: { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, terminal: r.terminal },
        process: decodeJsonAny(r.spec, 'exec process spec'),
      });
      return Promise.resolve({});
    }),
    ResizePty: u('ResizePty', ResizePtyRequest, Empty, async (r) => {
      await rt.resizePty(r.id, r.exec_id, r.width, r.height);
      return {};
    }),
    CloseIO: u('CloseIO', CloseIORequest, Empty, async (r) => {
      if (r.stdin) await rt.closeIo(r.id, r.exec_id);
      return {};
    }),
    Wait: u('Wait', WaitRequest, WaitResponse, async (r, ctx) => {
      const exit = await rt.wait(r.id, r.exec_id, ctx.signal);
      return { exit_status: exit.exitStatus, exited_at: toTimestamp(exit.exitedAt) };
    }),
    Delete: u('Delete', DeleteRequest, DeleteResponse, async (r, ctx) => {
      const exit = await rt.delete(r.id, r.exec_id, ctx.signal);
      return { pid: exit.pid, exit_status: exit.exitStatus, exited_at: toTimestamp(exit.exitedAt) };
    }),
    Stats: u('Stats', StatsRequest, StatsResponse, async (r, ctx) => ({
      stats: encodeStats(await rt.stats(r.id, ctx.signal)),
    })),
    Update: u('Update', UpdateTaskRequest, Empty, async (r, ctx) => {
      await rt.update(r.id, decodeJsonAny(r.resources, 'linux resources'), ctx.signal);
      return {};
    }),
    Pause: u('Pause', PauseRequest, Empty, async (r, ctx) => {
      await rt.pause(r.id, ctx.signal);
      return {};
    }),
    Resume: u('Resume', ResumeRequest, Empty, async (r, ctx) => {
      await rt.resume(r.id, ctx.signal);
      return {};
    }),
    Connect: u('Connect', ConnectRequest, ConnectResponse, () =>
      Promise.resolve({ shim_pid: o.shimPid, task_pid: rt.vmPid, version: String(version) }),
    ),
    Shutdown: u('Shutdown', ShutdownRequest, Empty, (r) => {
      if (r.now || rt.containerCount === 0) setImmediate(o.onShutdown);
      return Promise.resolve({});
    }),
  };
}
