import { readFile } from 'node:fs/promises';
import { CcError, wrapError, type Logger } from '#src/lib/index.js';
import type { CallContext, ServiceImpl } from '#src/protocol/ttrpc/index.js';
import type { GuestDetailsResponse } from '#src/protocol/agent/index.js';
import {
  checkBounded,
  checkId,
  type ContainerProcess,
  type ContainerSpec,
  type Sandbox,
} from '#guest/sandbox/index.js';
import type { AgentPolicy } from '#guest/policy/index.js';
import { GuestNetwork } from '#guest/network/index.js';
import {
  removeAllUnsealedVolumes,
  removeUnsealedVolumes,
  unsealVolumes,
} from './sealed-volumes.js';
import { AgentError } from './errors.js';
import { hasSealedEnv, unsealEnv, type SecretUnsealer } from './sealed-env.js';
import { createNetworkHandlers } from './network-handlers.js';
import type { AGENT_SERVICE_DEF } from './service-defs.js';
import {
  fromAgentProcess,
  fromAgentResources,
  fromAgentSpec,
  fromAgentStorages,
  toAgentCgroupStats,
} from './translate.js';

export type AgentMethods = (typeof AGENT_SERVICE_DEF)['methods'];

/** Largest `len` a ReadStdout/ReadStderr may ask for (the reply must fit a 4 MiB ttrpc frame). */
export const MAX_READ_LEN = 1 << 20;
/** Storage drivers this agent mounts (GetGuestDetails). */
export const STORAGE_HANDLERS = ['blk', 'virtio-blk', 'ephemeral', 'local', 'image_guest_pull'];

export interface AgentServiceOptions {
  readonly sandbox: Sandbox;
  readonly policy: AgentPolicy;
  readonly log: Logger;
  readonly agentVersion: string;
  /** `/sys` (GetGuestDetails reads the memory block size there). */
  readonly sysfs: string;
  /** Called after DestroySandbox answered (main shuts the VM down). */
  readonly onDestroyed?: (() => void) | undefined;
  /** Unseals `sealed.<jws>` environment values at CreateContainer (the CDH); absent: refused. */
  readonly unsealer?: SecretUnsealer | undefined;
  /** The VM's network (UpdateInterface, UpdateRoutes, …; default: busybox ip on /sys/class/net). */
  readonly network?: GuestNetwork | undefined;
  /** Where CopyFile may write (default /run/kata-containers/shared/containers). */
  readonly copyFileRoot?: string | undefined;
  /** Where unsealed copies of volumes go (default `SEALED_VOLUME_ROOT`, inside the storage root). */
  readonly sealedVolumeRoot?: string | undefined;
}

type Handler<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;

/**
 * The `grpc.AgentService` implementation. Every handler asks the policy first, translates the
 * wire request into domain types (validating everything: the host is untrusted) and calls the
 * sandbox. Errors are CcErrors; the ttrpc server maps their kind to the status code. Methods not
 * listed here answer UNIMPLEMENTED.
 */
export function createAgentService(o: AgentServiceOptions): ServiceImpl<AgentMethods> {
  const sb = o.sandbox;
  const initAlias = new Map<string, string>();
  const guard =
    <Req, Res>(
      requestName: string,
      fn: Handler<Req, Res>,
      policyInput?: (req: Req) => unknown,
    ): Handler<Req, Res> =>
    async (req, ctx) => {
      const decision = await o.policy.check(requestName, policyInput ? policyInput(req) : req);
      if (!decision.allowed)
        throw new AgentError(
          'permission_denied',
          'ERR_AGENT_POLICY',
          `${requestName} is blocked by policy: ${decision.reason}`,
        );
      try {
        return await fn(req, ctx);
      } catch (err) {
        if (!(err instanceof CcError)) throw wrapError(err, `${ctx.method} failed`);
        if (err.kind === 'internal' && err.code !== 'ERR_SANDBOX_EOF')
          o.log.warn('rpc failed', { method: ctx.method, error: err });
        throw err;
      }
    };
  const proc = (cid: string, eid: string): ContainerProcess => {
    checkId(cid, 'container_id');
    return sb.process(cid, eid === '' || initAlias.get(cid) === eid ? '' : eid);
  };
  const empty = {};

  return {
    CreateSandbox: guard('CreateSandboxRequest', async (req, ctx) => {
      if (req.kernel_modules.length > 0) throw unsupported('CreateSandboxRequest.kernel_modules');
      if (req.guest_hook_path !== '')
        o.log.warn('guest hooks are not supported; ignoring guest_hook_path');
      await sb.create(
        {
          sandboxId: req.sandbox_id === '' ? 'sandbox' : checkId(req.sandbox_id, 'sandbox_id'),
          hostname: req.hostname,
          storages: fromAgentStorages(req.storages),
          sandboxPidns: req.sandbox_pidns,
        },
        ctx.signal,
      );
      o.log.info('sandbox created', { sandbox_id: sb.id, confidential: sb.confidential });
      return empty;
    }),
    DestroySandbox: guard('DestroySandboxRequest', async () => {
      await sb.destroy();
      await removeAllUnsealedVolumes(o.sealedVolumeRoot);
      o.log.info('sandbox destroyed');
      if (o.onDestroyed) setImmediate(o.onDestroyed);
      return empty;
    }),
    CreateContainer: guard('CreateContainerRequest', async (req, ctx) => {
      const cid = checkId(req.container_id, 'container_id');
      if (req.exec_id !== '') checkId(req.exec_id, 'exec_id');
      if (req.devices.length > 0) throw unsupported('CreateContainerRequest.devices');
      if (req.shared_mounts.length > 0) throw unsupported('CreateContainerRequest.shared_mounts');
      if (req.stdin_port !== 0 || req.stdout_port !== 0 || req.stderr_port !== 0)
        throw unsupported('CreateContainerRequest stdio ports');
      try {
        await sb.createContainer(
          cid,
          await unsealSpec(cid, fromAgentSpec(req.OCI), o, ctx.signal),
          fromAgentStorages(req.storages),
          ctx.signal,
        );
      } catch (err) {
        await removeUnsealedVolumes(cid, o.sealedVolumeRoot);
        throw err;
      }
      if (req.exec_id !== '') initAlias.set(cid, req.exec_id);
      o.log.info('container created', { container_id: cid });
      return empty;
    }),
    StartContainer: guard('StartContainerRequest', async (req, ctx) => {
      const c = await sb.startContainer(checkId(req.container_id, 'container_id'), ctx.signal);
      o.log.info('container started', { container_id: c.id, pid: c.init.pid });
      return empty;
    }),
    RemoveContainer: guard('RemoveContainerRequest', async (req) => {
      const cid = checkId(req.container_id, 'container_id');
      await sb.removeContainer(cid);
      await removeUnsealedVolumes(cid, o.sealedVolumeRoot);
      initAlias.delete(cid);
      o.log.info('container removed', { container_id: cid });
      return empty;
    }),
    ExecProcess: guard('ExecProcessRequest', async (req, ctx) => {
      const cid = checkId(req.container_id, 'container_id');
      const eid = checkId(req.exec_id, 'exec_id');
      if (req.stdin_port !== 0 || req.stdout_port !== 0 || req.stderr_port !== 0)
        throw unsupported('ExecProcessRequest stdio ports');
      await sb.container(cid).exec(eid, fromAgentProcess(req.process, 'process'), ctx.signal);
      return empty;
    }),
    SignalProcess: guard('SignalProcessRequest', (req) => {
      const p = proc(req.container_id, req.exec_id);
      const sig = checkBounded(req.signal, 'signal', 64, 1);
      if (p.state === 'stopped' || p.state === 'deleted')
        throw new AgentError(
          'not_found',
          'ERR_AGENT_STATE',
          `process ${req.exec_id || 'init'} of container ${req.container_id} has exited`,
        );
      p.signal(sig);
      return Promise.resolve(empty);
    }),
    WaitProcess: guard('WaitProcessRequest', async (req, ctx) => {
      const p = proc(req.container_id, req.exec_id);
      const exit = await sb.waitProcess(req.container_id, p.execId, ctx.signal);
      return { status: exit.status };
    }),
    ReadStdout: guard('ReadStreamRequest', async (req, ctx) => {
      const len = checkBounded(req.len, 'len', MAX_READ_LEN, 1);
      return { data: await proc(req.container_id, req.exec_id).read('stdout', len, ctx.signal) };
    }),
    ReadStderr: guard('ReadStreamRequest', async (req, ctx) => {
      const len = checkBounded(req.len, 'len', MAX_READ_LEN, 1);
      return { data: await proc(req.container_id, req.exec_id).read('stderr', len, ctx.signal) };
    }),
    WriteStdin: guard('WriteStreamRequest', async (req) => {
      const p = proc(req.container_id, req.exec_id);
      if (req.data.length === 0) {
        p.closeStdin();
        return { len: 0 };
      }
      return { len: await p.write(req.data) };
    }),
    CloseStdin: guard('CloseStdinRequest', (req) => {
      proc(req.container_id, req.exec_id).closeStdin();
      return Promise.resolve(empty);
    }),
    TtyWinResize: guard('TtyWinResizeRequest', (req) => {
      const rows = checkBounded(req.row, 'row', 65535);
      const cols = checkBounded(req.column, 'column', 65535);
      proc(req.container_id, req.exec_id).resize(rows, cols);
      return Promise.resolve(empty);
    }),
    UpdateContainer: guard('UpdateContainerRequest', async (req) => {
      const r = fromAgentResources(req.resources);
      if (r) await sb.container(checkId(req.container_id, 'container_id')).update(r);
      return empty;
    }),
    StatsContainer: guard('StatsContainerRequest', async (req) => {
      const stats = await sb.container(checkId(req.container_id, 'container_id')).stats();
      return { cgroup_stats: toAgentCgroupStats(stats), network_stats: [] };
    }),
    PauseContainer: guard('PauseContainerRequest', async (req) => {
      await sb.container(checkId(req.container_id, 'container_id')).pause();
      return empty;
    }),
    ResumeContainer: guard('ResumeContainerRequest', async (req) => {
      await sb.container(checkId(req.container_id, 'container_id')).resume();
      return empty;
    }),
    GetOOMEvent: guard('GetOOMEventRequest', async (_req, ctx) => ({
      container_id: await sb.nextOomEvent(ctx.signal),
    })),
    GetGuestDetails: guard('GuestDetailsRequest', async (req) =>
      guestDetails(req.mem_block_size, o),
    ),
    // not guard(): setPolicy asks the current policy about SetPolicyRequest itself
    SetPolicy: async (req) => {
      if (!o.policy.setPolicy) throw unsupported('SetPolicy (this agent policy is fixed)');
      const d = await o.policy.setPolicy({ policy: req.policy });
      if (!d.allowed)
        throw new AgentError(
          'permission_denied',
          'ERR_AGENT_POLICY',
          `SetPolicyRequest is blocked by policy: ${d.reason}`,
        );
      o.log.info('agent policy replaced', { bytes: req.policy.length });
      return empty;
    },
    ...createNetworkHandlers(guard, {
      network: o.network ?? new GuestNetwork({ log: o.log.child({ subsystem: 'network' }) }),
      copyFileRoot: o.copyFileRoot,
    }),
  };
}

function unsupported(what: string): AgentError {
  return new AgentError(
    'unimplemented',
    'ERR_AGENT_INVALID',
    `${what}: not supported by this agent`,
  );
}

async function guestDetails(
  wantBlockSize: boolean,
  o: AgentServiceOptions,
): Promise<GuestDetailsResponse> {
  let blockSize = 0;
  if (wantBlockSize) {
    const text = await readFile(`${o.sysfs}/devices/system/memory/block_size_bytes`, 'utf8').catch(
      () => '',
    );
    const n = Number.parseInt(text.trim(), 16);
    blockSize = Number.isSafeInteger(n) ? n : 0;
  }
  return {
    mem_block_size_bytes: blockSize,
    agent_details: {
      version: o.agentVersion,
      init_daemon: process.pid === 1,
      device_handlers: [],
      storage_handlers: STORAGE_HANDLERS,
      supports_seccomp: true,
      extra_features: [],
    },
    support_mem_hotplug_probe: false,
  };
}

/**
 * The spec with its sealed environment values and sealed secret files unsealed (after the policy
 * saw them sealed).
 */
async function unsealSpec(
  containerId: string,
  withSealed: ContainerSpec,
  o: AgentServiceOptions,
  signal: AbortSignal | undefined,
): Promise<ContainerSpec> {
  const spec = await unsealVolumes(withSealed, {
    containerId,
    unsealer: o.unsealer,
    copyRoot: o.copyFileRoot,
    unsealedRoot: o.sealedVolumeRoot,
    log: o.log,
    signal,
  });
  const { process: init } = spec;
  if (!hasSealedEnv(init.env)) return spec;
  if (!o.unsealer)
    throw new AgentError(
      'failed_precondition',
      'ERR_AGENT_SEALED_SECRET',
      'the container has sealed environment variables, but this agent runs without the guest components (no confidential data hub)',
    );
  const env = await unsealEnv(init.env, o.unsealer, { signal, log: o.log });
  return { ...spec, process: { ...init, env } };
}
