import { describeError, type Logger } from '#src/lib/index.js';
import {
  AGENT_SERVICE,
  CheckRequest,
  CloseStdinRequest,
  CopyFileRequest,
  CreateContainerRequest,
  CreateSandboxRequest,
  DestroySandboxRequest,
  Empty,
  ExecProcessRequest,
  GetOOMEventRequest,
  HEALTH_SERVICE,
  HealthCheckResponse,
  Interface,
  OOMEvent,
  PauseContainerRequest,
  ReadStreamRequest,
  ReadStreamResponse,
  RemoveContainerRequest,
  ResumeContainerRequest,
  SignalProcessRequest,
  StartContainerRequest,
  StatsContainerRequest,
  StatsContainerResponse,
  TtyWinResizeRequest,
  UpdateContainerRequest,
  UpdateInterfaceRequest,
  UpdateRoutesRequest,
  Routes,
  WaitProcessRequest,
  WaitProcessResponse,
  WriteStreamRequest,
  WriteStreamResponse,
  type MessageCodec,
  type Storage,
} from '#src/protocol/agent/index.js';
import type { TtrpcClient } from '#src/protocol/ttrpc/index.js';
import {
  toAgentInterface,
  toAgentRoute,
  type GuestInterfaceUpdate,
  type GuestRouteUpdate,
} from './network-to-agent.js';
import { toAgentProcess, toAgentResources, toAgentSpec } from './oci-to-agent.js';

/** How much one ReadStdout/ReadStderr asks for. */
const READ_CHUNK = 32 * 1024;

/**
 * Least deadline of the calls that make the guest mount a hot-plugged disk or launch crun
 * (CreateContainer, StartContainer, ExecProcess): the guest itself waits up to 60 s for either, so
 * a shorter host deadline would give up on a guest that is merely slow (TCG, a loaded host).
 */
const SPAWN_TIMEOUT_MS = 120_000;

const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

export interface CallOpts {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
}

/** A host path-free description of a storage the guest mounts (erofs disk → overlay). */
export interface GuestStorage {
  readonly driver: 'blk' | 'ephemeral' | 'local' | 'image_guest_pull';
  readonly source: string;
  /** Kata `driver_options` (`image_guest_pull=<json>` for a guest pull). */
  readonly driverOptions?: readonly string[] | undefined;
  readonly fsType: string;
  readonly options: readonly string[];
  readonly mountPoint: string;
}

export interface ContainerStatsData {
  readonly cpuUsageNs: number;
  readonly memoryUsageBytes: number;
  readonly memoryLimitBytes: number;
  readonly pids: number;
}

function toStorage(s: GuestStorage): Storage {
  return {
    driver: s.driver,
    driver_options: [...(s.driverOptions ?? [])],
    source: s.source,
    fstype: s.fsType,
    options: [...s.options],
    mount_point: s.mountPoint,
    fs_group: undefined,
  };
}

/**
 * The Kata agent API (`grpc.AgentService`) in domain terms. Generated types stay in here; callers
 * pass OCI JSON and get plain values back.
 */
export class AgentClient {
  readonly #client: TtrpcClient;
  readonly #log: Logger;
  readonly #timeoutMs: number;

  constructor(client: TtrpcClient, logger: Logger, requestTimeoutMs: number) {
    this.#client = client;
    this.#log = logger.child({ subsystem: 'agent-client' });
    this.#timeoutMs = requestTimeoutMs;
  }

  get isClosed(): boolean {
    return this.#client.isClosed;
  }

  async #call<Req, Res>(
    service: string,
    method: string,
    req: MessageCodec<Req>,
    res: MessageCodec<Res>,
    msg: Req,
    o: CallOpts & { noTimeout?: boolean } = {},
  ): Promise<Res> {
    const timeoutMs = o.noTimeout === true ? undefined : (o.timeoutMs ?? this.#timeoutMs);
    const bytes = await this.#client.call(service, method, req.encode(msg).finish(), {
      signal: o.signal,
      timeoutMs,
    });
    return res.decode(bytes);
  }

  #agent<Req, Res>(
    method: string,
    req: MessageCodec<Req>,
    res: MessageCodec<Res>,
    msg: Req,
    o?: CallOpts & { noTimeout?: boolean },
  ): Promise<Res> {
    if (this.#log.trace.enabled('agent')) this.#log.debug('agent call', { method });
    return this.#call(AGENT_SERVICE, method, req, res, msg, o);
  }

  async healthCheck(o?: CallOpts): Promise<boolean> {
    const r = await this.#call(
      HEALTH_SERVICE,
      'Check',
      CheckRequest,
      HealthCheckResponse,
      { service: '' },
      o,
    );
    return r.status === 1;
  }

  async createSandbox(
    p: { sandboxId: string; hostname: string; storages: readonly GuestStorage[] },
    o?: CallOpts,
  ): Promise<void> {
    await this.#agent(
      'CreateSandbox',
      CreateSandboxRequest,
      Empty,
      {
        hostname: p.hostname,
        dns: [],
        storages: p.storages.map(toStorage),
        sandbox_pidns: false,
        sandbox_id: p.sandboxId,
        guest_hook_path: '',
        kernel_modules: [],
        guest_userns: false,
      },
      o,
    );
  }

  async createContainer(
    p: {
      containerId: string;
      ociSpec: Readonly<Record<string, unknown>>;
      rootPath: string;
      storages: readonly GuestStorage[];
    },
    o?: CallOpts,
  ): Promise<void> {
    const OCI = toAgentSpec(p.ociSpec, { rootPath: p.rootPath, logger: this.#log });
    await this.#agent(
      'CreateContainer',
      CreateContainerRequest,
      Empty,
      {
        container_id: p.containerId,
        exec_id: p.containerId,
        string_user: undefined,
        devices: [],
        storages: p.storages.map(toStorage),
        OCI,
        sandbox_pidns: false,
        shared_mounts: [],
        stdin_port: 0,
        stdout_port: 0,
        stderr_port: 0,
      },
      this.#spawnOpts(o),
    );
  }

  #spawnOpts(o: CallOpts | undefined): CallOpts {
    return { ...o, timeoutMs: o?.timeoutMs ?? Math.max(this.#timeoutMs, SPAWN_TIMEOUT_MS) };
  }

  async startContainer(containerId: string, o?: CallOpts): Promise<void> {
    await this.#agent(
      'StartContainer',
      StartContainerRequest,
      Empty,
      { container_id: containerId },
      this.#spawnOpts(o),
    );
  }

  async execProcess(
    containerId: string,
    execId: string,
    process: unknown,
    o?: CallOpts,
  ): Promise<void> {
    await this.#agent(
      'ExecProcess',
      ExecProcessRequest,
      Empty,
      {
        container_id: containerId,
        exec_id: execId,
        string_user: undefined,
        process: toAgentProcess(process),
        stdin_port: 0,
        stdout_port: 0,
        stderr_port: 0,
      },
      this.#spawnOpts(o),
    );
  }

  async waitProcess(containerId: string, execId: string, o?: CallOpts): Promise<number> {
    const r = await this.#agent(
      'WaitProcess',
      WaitProcessRequest,
      WaitProcessResponse,
      { container_id: containerId, exec_id: execId },
      { ...o, noTimeout: true },
    );
    return r.status;
  }

  async signalProcess(
    containerId: string,
    execId: string,
    signal: number,
    o?: CallOpts,
  ): Promise<void> {
    await this.#agent(
      'SignalProcess',
      SignalProcessRequest,
      Empty,
      { container_id: containerId, exec_id: execId, signal },
      o,
    );
  }

  /** The next output chunk; undefined at end of stream (empty answer or the stream is gone). */
  async readStream(
    which: 'stdout' | 'stderr',
    containerId: string,
    execId: string,
    o?: CallOpts,
  ): Promise<Uint8Array | undefined> {
    const method = which === 'stdout' ? 'ReadStdout' : 'ReadStderr';
    try {
      const r = await this.#agent(
        method,
        ReadStreamRequest,
        ReadStreamResponse,
        { container_id: containerId, exec_id: execId, len: READ_CHUNK },
        { ...o, noTimeout: true },
      );
      return r.data.length === 0 ? undefined : r.data;
    } catch (err) {
      if (o?.signal?.aborted === true) throw err;
      this.#log.debug('output stream ended', {
        method,
        container_id: containerId,
        err: describeError(err),
      });
      return undefined;
    }
  }

  async writeStdin(
    containerId: string,
    execId: string,
    data: Uint8Array,
    o?: CallOpts,
  ): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const r = await this.#agent(
        'WriteStdin',
        WriteStreamRequest,
        WriteStreamResponse,
        {
          container_id: containerId,
          exec_id: execId,
          data: Buffer.from(data.subarray(off, off + READ_CHUNK)),
        },
        o,
      );
      if (r.len <= 0) return;
      off += r.len;
    }
  }

  async closeStdin(containerId: string, execId: string, o?: CallOpts): Promise<void> {
    await this.#agent(
      'CloseStdin',
      CloseStdinRequest,
      Empty,
      { container_id: containerId, exec_id: execId },
      o,
    );
  }

  async ttyWinResize(
    containerId: string,
    execId: string,
    width: number,
    height: number,
    o?: CallOpts,
  ): Promise<void> {
    await this.#agent(
      'TtyWinResize',
      TtyWinResizeRequest,
      Empty,
      { container_id: containerId, exec_id: execId, row: height, column: width },
      o,
    );
  }

  async removeContainer(containerId: string, o?: CallOpts): Promise<void> {
    await this.#agent(
      'RemoveContainer',
      RemoveContainerRequest,
      Empty,
      { container_id: containerId, timeout: 10 },
      o,
    );
  }

  async pauseContainer(containerId: string, o?: CallOpts): Promise<void> {
    await this.#agent(
      'PauseContainer',
      PauseContainerRequest,
      Empty,
      { container_id: containerId },
      o,
    );
  }

  async resumeContainer(containerId: string, o?: CallOpts): Promise<void> {
    await this.#agent(
      'ResumeContainer',
      ResumeContainerRequest,
      Empty,
      { container_id: containerId },
      o,
    );
  }

  async updateContainer(containerId: string, resources: unknown, o?: CallOpts): Promise<void> {
    await this.#agent(
      'UpdateContainer',
      UpdateContainerRequest,
      Empty,
      { container_id: containerId, resources: toAgentResources(resources) },
      o,
    );
  }

  async statsContainer(containerId: string, o?: CallOpts): Promise<ContainerStatsData> {
    const r = await this.#agent(
      'StatsContainer',
      StatsContainerRequest,
      StatsContainerResponse,
      { container_id: containerId },
      o,
    );
    const cg = r.cgroup_stats;
    return {
      cpuUsageNs: cg?.cpu_stats?.cpu_usage?.total_usage ?? 0,
      memoryUsageBytes: cg?.memory_stats?.usage?.usage ?? 0,
      memoryLimitBytes: cg?.memory_stats?.usage?.limit ?? 0,
      pids: cg?.pids_stats?.current ?? 0,
    };
  }

  /** Long-polls the next OOM event; resolves with the container id. */
  async getOomEvent(o?: CallOpts): Promise<string> {
    const r = await this.#agent(
      'GetOOMEvent',
      GetOOMEventRequest,
      OOMEvent,
      {},
      { ...o, noTimeout: true },
    );
    return r.container_id;
  }

  /** UpdateInterface: the guest NIC with this MAC gets the name, MTU and addresses. */
  async updateInterface(i: GuestInterfaceUpdate, o?: CallOpts): Promise<void> {
    await this.#agent(
      'UpdateInterface',
      UpdateInterfaceRequest,
      Interface,
      { interface: toAgentInterface(i) },
      o,
    );
  }

  /** UpdateRoutes: replaces the routes of the named guest interfaces. */
  async updateRoutes(routes: readonly GuestRouteUpdate[], o?: CallOpts): Promise<void> {
    await this.#agent(
      'UpdateRoutes',
      UpdateRoutesRequest,
      Routes,
      { routes: { Routes: routes.map(toAgentRoute) } },
      o,
    );
  }

  /** CopyFile: writes `data` to `path` in the guest, in chunks (Kata's no-shared-fs file copy). */
  async copyFile(
    p: { path: string; data: Uint8Array; mode: number; uid: number; gid: number },
    o?: CallOpts,
  ): Promise<void> {
    const chunk = 256 * 1024;
    let off = 0;
    do {
      await this.#agent(
        'CopyFile',
        CopyFileRequest,
        Empty,
        {
          path: p.path,
          file_size: p.data.length,
          file_mode: p.mode,
          dir_mode: 0o750,
          uid: p.uid,
          gid: p.gid,
          offset: off,
          data: Buffer.from(p.data.subarray(off, off + chunk)),
        },
        o,
      );
      off += chunk;
    } while (off < p.data.length);
  }

  /** CopyFile of a folder (`file_mode` S_IFDIR | permissions, as Kata's runtime sends it). */
  async copyDirectory(
    p: { path: string; mode: number; uid: number; gid: number },
    o?: CallOpts,
  ): Promise<void> {
    await this.#agent(
      'CopyFile',
      CopyFileRequest,
      Empty,
      {
        path: p.path,
        file_size: 0,
        file_mode: S_IFDIR | (p.mode & 0o777),
        dir_mode: p.mode & 0o777,
        uid: p.uid,
        gid: p.gid,
        offset: 0,
        data: Buffer.alloc(0),
      },
      o,
    );
  }

  /** CopyFile of a symlink (`file_mode` S_IFLNK, `data` = the target, as Kata's runtime sends it). */
  async copySymlink(
    p: { path: string; target: string; uid: number; gid: number },
    o?: CallOpts,
  ): Promise<void> {
    const data = Buffer.from(p.target);
    await this.#agent(
      'CopyFile',
      CopyFileRequest,
      Empty,
      {
        path: p.path,
        file_size: data.length,
        file_mode: S_IFLNK | 0o777,
        dir_mode: 0o750,
        uid: p.uid,
        gid: p.gid,
        offset: 0,
        data,
      },
      o,
    );
  }

  async destroySandbox(o?: CallOpts): Promise<void> {
    await this.#agent('DestroySandbox', DestroySandboxRequest, Empty, {}, o);
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}
