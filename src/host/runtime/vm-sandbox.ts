import { join } from 'node:path';
import { describeError, type Logger } from '#src/lib/index.js';
import type { HostConfig } from '#src/host/config/index.js';
import { connectAgent, type AgentClient, type GuestStorage } from '#src/host/agent/index.js';
import {
  startVm,
  type DiskSpec,
  type TeeSpec,
  type Vm,
  type VmSpec,
} from '#src/host/hypervisor/index.js';
import { buildRootfsImage } from '#src/host/resource/index.js';
import { RuntimeError } from './errors.js';
import { resolveGuestImage } from './guest-image.js';
import type {
  BackendContainer,
  BackendProcessIo,
  SandboxBackend,
  SandboxBackendFactory,
  SandboxStartSpec,
} from './sandbox-backend.js';
import type { ContainerStats } from './types.js';

/** Where the guest mounts container storages (inside the agent's storage root). */
export const GUEST_CONTAINERS_DIR = '/run/kata-containers/shared/containers';

export interface VmSandboxFactoryOptions {
  readonly config: HostConfig;
  /** The checkout the shim runs from (finds the guest image build cache). */
  readonly projectRoot: string;
  readonly logger: Logger;
}

function teeSpec(config: HostConfig): TeeSpec {
  const kind = config.runtime.tee;
  if (kind === 'none') return { kind: 'none' };
  return { kind, firmware: config.hypervisor.firmware };
}

function guestRoot(containerId: string): string {
  return `${GUEST_CONTAINERS_DIR}/${containerId}/rootfs`;
}

/** Boots one VM per pod (QEMU + the guest image) and drives the agent inside it. */
export class VmSandboxFactory implements SandboxBackendFactory {
  readonly #o: VmSandboxFactoryOptions;

  constructor(options: VmSandboxFactoryOptions) {
    this.#o = options;
  }

  async start(spec: SandboxStartSpec, signal?: AbortSignal): Promise<SandboxBackend> {
    const { config } = this.#o;
    const log = this.#o.logger.child({ subsystem: 'vm-sandbox', sandbox_id: spec.sandboxId });
    const image = resolveGuestImage(config.guest.manifest, this.#o.projectRoot);
    const tee = teeSpec(config);
    const confidential = tee.kind !== 'none' || config.runtime.confidential;
    const disks: DiskSpec[] = [];
    const needsRootfs = !(spec.first.isSandbox && isCriSandbox(spec.first));
    if (needsRootfs) {
      const img = await buildRootfsImage(
        spec.first.rootfsDir,
        join(spec.stateDir, `${spec.first.containerId}.erofs`),
        { confidential, signal },
      );
      disks.push({ id: 'c0', path: img.path, readonly: true });
    }
    const vmSpec: VmSpec = {
      id: spec.sandboxId.slice(0, 64),
      cpus: config.hypervisor.cpus,
      memoryMib: config.hypervisor.memory_mib,
      kernel: image.kernel,
      initrd: image.initrd,
      rootDisk: { path: image.rootfs, verityRootHash: image.verityRootHash },
      kernelParams: [...image.kernelParams, ...config.hypervisor.kernel_params],
      agentChannel: { kind: 'virtio-serial', socketPath: join(spec.stateDir, 'agent.sock') },
      disks,
      tee,
      stateDir: join(spec.stateDir, 'vm'),
      consoleLogPath: join(spec.stateDir, 'console.log'),
      machine: config.hypervisor.machine,
    };
    const t0 = Date.now();
    const vm = await startVm(vmSpec, {
      qemuBinary: config.hypervisor.qemu_binary,
      accel: config.hypervisor.accel,
      logger: log,
      signal,
    });
    try {
      const agent = await connectAgent({
        channel:
          vmSpec.agentChannel.kind === 'virtio-serial'
            ? vmSpec.agentChannel
            : { kind: 'virtio-serial', socketPath: '' },
        dialTimeoutMs: config.agent.dial_timeout_ms,
        requestTimeoutMs: config.agent.request_timeout_ms,
        logger: log,
        signal,
        consoleTail: () => vm.consoleTail(15),
        vmExited: vm.exited,
      });
      log.info('agent connected', { boot_ms: Date.now() - t0, accel: vm.accel });
      const sandbox = new VmSandbox(vm, agent, log);
      await agent.createSandbox(
        { sandboxId: spec.sandboxId, hostname: hostnameOf(spec.first), storages: [] },
        { signal },
      );
      await sandbox.createFirst(spec.first, needsRootfs ? '/dev/vdb' : undefined, signal);
      return sandbox;
    } catch (err) {
      await vm.stop().catch(() => undefined);
      throw err;
    }
  }
}

function isCriSandbox(c: BackendContainer): boolean {
  const a = c.ociSpec['annotations'];
  return (
    typeof a === 'object' &&
    a !== null &&
    (a as Record<string, unknown>)['io.kubernetes.cri.container-type'] === 'sandbox'
  );
}

function hostnameOf(c: BackendContainer): string {
  const h = c.ociSpec['hostname'];
  return typeof h === 'string' ? h : '';
}

class VmSandbox implements SandboxBackend {
  readonly #vm: Vm;
  readonly #agent: AgentClient;
  readonly #log: Logger;
  readonly exited: Promise<void>;
  #stopped: Promise<void> | undefined;

  constructor(vm: Vm, agent: AgentClient, log: Logger) {
    this.#vm = vm;
    this.#agent = agent;
    this.#log = log;
    this.exited = vm.exited.then(() => undefined);
  }

  get vmPid(): number {
    return this.#vm.pid;
  }

  async createFirst(
    c: BackendContainer,
    device: string | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    const root = guestRoot(c.containerId);
    const storages: GuestStorage[] =
      device === undefined
        ? []
        : [{ driver: 'blk', source: device, fsType: 'erofs', options: ['ro'], mountPoint: root }];
    await this.#agent.createContainer(
      { containerId: c.containerId, ociSpec: c.ociSpec, rootPath: root, storages },
      { signal },
    );
  }

  async createContainer(c: BackendContainer, signal?: AbortSignal): Promise<void> {
    if (!isCriSandbox(c)) {
      throw new RuntimeError(
        'unimplemented',
        'ERR_RUNTIME_UNSUPPORTED',
        `container ${c.containerId}: a second container needs disk hot-plug, which the hypervisor layer does not offer yet`,
      );
    }
    await this.createFirst(c, undefined, signal);
  }

  async startContainer(containerId: string, signal?: AbortSignal): Promise<number> {
    await this.#agent.startContainer(containerId, { signal });
    return this.#vm.pid;
  }

  async execProcess(
    containerId: string,
    execId: string,
    process: unknown,
    _terminal: boolean,
    signal?: AbortSignal,
  ): Promise<number> {
    await this.#agent.execProcess(containerId, execId, process, { signal });
    return this.#vm.pid;
  }

  io(containerId: string, execId: string): BackendProcessIo {
    const a = this.#agent;
    const id = execId === '' ? containerId : execId;
    return {
      readStdout: (signal) => a.readStream('stdout', containerId, id, { signal }),
      readStderr: (signal) => a.readStream('stderr', containerId, id, { signal }),
      writeStdin: (data, signal) => a.writeStdin(containerId, id, data, { signal }),
      closeStdin: (signal) => a.closeStdin(containerId, id, { signal }),
      resize: (w, h, signal) => a.ttyWinResize(containerId, id, w, h, { signal }),
    };
  }

  waitProcess(containerId: string, execId: string, signal?: AbortSignal): Promise<number> {
    return this.#agent.waitProcess(containerId, execId === '' ? containerId : execId, { signal });
  }

  async signalProcess(
    containerId: string,
    execId: string,
    sig: number,
    all: boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.#agent.signalProcess(
      containerId,
      all ? '' : execId === '' ? containerId : execId,
      sig,
      { signal },
    );
  }

  removeContainer(containerId: string, signal?: AbortSignal): Promise<void> {
    return this.#agent.removeContainer(containerId, { signal });
  }

  pauseContainer(containerId: string, signal?: AbortSignal): Promise<void> {
    return this.#agent.pauseContainer(containerId, { signal });
  }

  resumeContainer(containerId: string, signal?: AbortSignal): Promise<void> {
    return this.#agent.resumeContainer(containerId, { signal });
  }

  updateContainer(containerId: string, resources: unknown, signal?: AbortSignal): Promise<void> {
    return this.#agent.updateContainer(containerId, resources, { signal });
  }

  stats(containerId: string, signal?: AbortSignal): Promise<ContainerStats> {
    return this.#agent.statsContainer(containerId, { signal });
  }

  pids(_containerId: string): Promise<number[]> {
    return Promise.resolve([this.#vm.pid]);
  }

  nextOom(signal: AbortSignal): Promise<string> {
    return this.#agent.getOomEvent({ signal });
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      if (this.#vm.state === 'running' || this.#vm.state === 'paused') {
        await this.#agent.destroySandbox({ timeoutMs: 5_000 }).catch((err: unknown) => {
          this.#log.debug('destroy sandbox failed', { err: describeError(err) });
        });
      }
      await this.#agent.close();
      await this.#vm.stop({ timeoutMs: 10_000 });
    })();
    return this.#stopped;
  }
}
