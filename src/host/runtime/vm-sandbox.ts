import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, type Logger } from '#src/lib/index.js';
import type { HostConfig } from '#src/host/config/index.js';
import { connectAgent, type AgentClient, type GuestStorage } from '#src/host/agent/index.js';
import {
  bootKernel,
  locateGuestImage,
  startVm,
  type DiskSpec,
  type TeeSpec,
  type Vm,
  type VmSpec,
} from '#src/host/hypervisor/index.js';
import {
  buildRootfsImage,
  createScratchDisk,
  SCRATCH_DISK_SERIAL,
} from '#src/host/resource/index.js';
import { RuntimeError } from './errors.js';
import { parsePodAnnotations, type InitDataLaunch } from './pod-annotations.js';
import {
  guestPullCallTimeoutMs,
  guestPullKernelParams,
  guestPullRoot,
  guestPullStorage,
  isConfidentialConfig,
  usesGuestPull,
} from './guest-pull.js';
import type {
  BackendContainer,
  BackendProcessIo,
  SandboxBackend,
  SandboxBackendFactory,
  SandboxStartSpec,
} from './sandbox-backend.js';
import type { ContainerStats } from './types.js';
import { shareFileMounts } from './vm-files.js';
import type { SharedVolumeLimits } from './volume-copy.js';
import { configureGuestNetwork, preparePodNetwork, vmNetworkFields } from './vm-network.js';

/** Where the guest mounts container storages (inside the agent's storage root). */
export const GUEST_CONTAINERS_DIR = '/run/kata-containers/shared/containers';

export interface VmSandboxFactoryOptions {
  readonly config: HostConfig;
  /** The checkout the shim runs from (finds the guest image build cache). */
  readonly projectRoot: string;
  readonly logger: Logger;
}

function teeSpec(config: HostConfig, init: InitDataLaunch | undefined): TeeSpec {
  const kind = config.runtime.tee;
  const firmware = config.hypervisor.firmware;
  switch (kind) {
    case 'none':
      return { kind };
    case 'tdx':
      return { kind, firmware, mrConfigId: init?.mrConfigId };
    case 'snp':
      return { kind, firmware, hostData: init?.hostData };
  }
}

/** Disk id (= virtio-blk serial) of the initdata disk. */
export const INITDATA_DISK_ID = 'initdata';

function guestRoot(containerId: string): string {
  return `${GUEST_CONTAINERS_DIR}/${containerId}/rootfs`;
}

/** Boots one VM per pod (QEMU + the guest image) and drives the agent inside it. */
export class VmSandboxFactory implements SandboxBackendFactory {
  readonly #o: VmSandboxFactoryOptions;

  constructor(options: VmSandboxFactoryOptions) {
    this.#o = options;
  }

  /** False when the guest pulls every image: the host never mounts a container rootfs then. */
  get hostRootfs(): boolean {
    return !usesGuestPull(this.#o.config, isConfidentialConfig(this.#o.config));
  }

  async start(spec: SandboxStartSpec, signal?: AbortSignal): Promise<SandboxBackend> {
    const { config } = this.#o;
    const log = this.#o.logger.child({ subsystem: 'vm-sandbox', sandbox_id: spec.sandboxId });
    const image = locateGuestImage({
      manifestPath: config.guest.manifest,
      projectRoot: this.#o.projectRoot,
    });
    const { initData } = parsePodAnnotations(
      spec.annotations,
      config.hypervisor.enable_annotations,
      log,
    );
    const tee = teeSpec(config, initData);
    const confidential = isConfidentialConfig(config);
    const guestPull = usesGuestPull(config, confidential);
    const disks: DiskSpec[] = [];
    const needsRootfs = !guestPull && !(spec.first.isSandbox && isCriSandbox(spec.first));
    if (needsRootfs) {
      const img = await buildRootfsImage(
        spec.first.rootfsDir,
        join(spec.stateDir, `${spec.first.containerId}.erofs`),
        { confidential, signal },
      );
      disks.push({ id: 'c0', path: img.path, readonly: true });
    }
    const extraParams: string[] = [];
    if (initData) {
      // Last of the boot disks, so the first container's rootfs stays /dev/vdb.
      const path = join(spec.stateDir, 'initdata.img');
      await writeFile(path, initData.disk, { mode: 0o600 });
      disks.push({ id: INITDATA_DISK_ID, path, readonly: true });
      // Without a TEE nothing measures the digest: the command line only tells the guest what
      // the host launched with (see INITDATA_DIGEST_PARAM).
      if (tee.kind === 'none') extraParams.push(initData.kernelParam);
      log.info('initdata attached', {
        algorithm: initData.algorithm,
        digest: Buffer.from(initData.digest).toString('hex'),
      });
    }
    if (guestPull) {
      // after the boot disks; the guest finds it by its serial
      const path = join(spec.stateDir, 'image-scratch.raw');
      await createScratchDisk(path, config.runtime.guest_pull_disk_mib);
      disks.push({ id: SCRATCH_DISK_SERIAL, path, readonly: false });
    }
    const net = await preparePodNetwork(spec.first, log, signal);
    const vmSpec: VmSpec = {
      id: spec.sandboxId.slice(0, 64),
      cpus: config.hypervisor.cpus,
      memoryMib: config.hypervisor.memory_mib,
      kernel: bootKernel(image, tee),
      initrd: image.initrd,
      rootDisk: { path: image.rootfs, verityRootHash: image.verityRootHash },
      kernelParams: [
        ...image.kernelParams,
        ...extraParams,
        ...(guestPull ? guestPullKernelParams(config, confidential) : []),
        ...config.hypervisor.kernel_params,
      ],
      agentChannel: { kind: 'virtio-serial', socketPath: join(spec.stateDir, 'agent.sock') },
      disks,
      tee,
      stateDir: join(spec.stateDir, 'vm'),
      consoleLogPath: join(spec.stateDir, 'console.log'),
      machine: config.hypervisor.machine,
      ...vmNetworkFields(net),
    };
    const t0 = Date.now();
    const vm = await startVm(vmSpec, {
      qemuBinary: config.hypervisor.qemu_binary,
      accel: config.hypervisor.accel,
      logger: log,
      signal,
    }).catch(async (err: unknown) => {
      await net?.teardown();
      throw err;
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
      const sandbox = new VmSandbox(vm, agent, log, {
        stateDir: spec.stateDir,
        confidential,
        onStopped: () => net?.teardown(),
        guestPullTimeoutMs: guestPull ? guestPullCallTimeoutMs(config) : undefined,
        volumeLimits: {
          maxEntries: config.runtime.shared_volume_max_entries,
          maxBytes: config.runtime.shared_volume_max_bytes,
          maxDepth: config.runtime.shared_volume_max_depth,
        },
      });
      await configureGuestNetwork(agent, net, { signal });
      await agent.createSandbox(
        { sandboxId: spec.sandboxId, hostname: hostnameOf(spec.first), storages: [] },
        { signal },
      );
      await sandbox.createFirst(spec.first, needsRootfs ? '/dev/vdb' : undefined, signal);
      return sandbox;
    } catch (err) {
      await vm.stop().catch(() => undefined);
      await net?.teardown();
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

/** Guest storage source naming a virtio-blk disk by its serial (see guest/sandbox README). */
export function serialSource(diskId: string): string {
  return `serial:${diskId}`;
}

interface HotplugDisk {
  readonly id: string;
  readonly path: string;
}

class VmSandbox implements SandboxBackend {
  readonly #vm: Vm;
  readonly #agent: AgentClient;
  readonly #log: Logger;
  readonly #stateDir: string;
  readonly #confidential: boolean;
  readonly #onStopped: (() => Promise<void> | undefined) | undefined;
  /** CreateContainer deadline when images are pulled in the guest; undefined: host rootfs. */
  readonly #guestPullTimeoutMs: number | undefined;
  readonly #volumeLimits: SharedVolumeLimits;
  /** container id → its hot-plugged rootfs disk. */
  readonly #disks = new Map<string, HotplugDisk>();
  #diskSeq = 0;
  readonly exited: Promise<void>;
  #stopped: Promise<void> | undefined;

  constructor(
    vm: Vm,
    agent: AgentClient,
    log: Logger,
    o: {
      readonly stateDir: string;
      readonly confidential: boolean;
      /** After the VM stopped (the pod network is unwired). */
      readonly onStopped?: (() => Promise<void> | undefined) | undefined;
      readonly guestPullTimeoutMs: number | undefined;
      readonly volumeLimits: SharedVolumeLimits;
    },
  ) {
    this.#vm = vm;
    this.#agent = agent;
    this.#log = log;
    this.#stateDir = o.stateDir;
    this.#confidential = o.confidential;
    this.#onStopped = o.onStopped;
    this.#guestPullTimeoutMs = o.guestPullTimeoutMs;
    this.#volumeLimits = o.volumeLimits;
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
    const ociSpec = await shareFileMounts(
      this.#agent,
      c.containerId,
      c.ociSpec,
      this.#log,
      signal,
      this.#volumeLimits,
    );
    if (this.#guestPullTimeoutMs !== undefined && !isCriSandbox(c)) {
      await this.#agent.createContainer(
        {
          containerId: c.containerId,
          ociSpec,
          rootPath: guestPullRoot(c.containerId),
          storages: [guestPullStorage(c)],
        },
        { signal, timeoutMs: this.#guestPullTimeoutMs },
      );
      return;
    }
    const root = guestRoot(c.containerId);
    const storages: GuestStorage[] =
      device === undefined
        ? []
        : [{ driver: 'blk', source: device, fsType: 'erofs', options: ['ro'], mountPoint: root }];
    await this.#agent.createContainer(
      { containerId: c.containerId, ociSpec, rootPath: root, storages },
      { signal },
    );
  }

  async createContainer(c: BackendContainer, signal?: AbortSignal): Promise<void> {
    if (isCriSandbox(c) || this.#guestPullTimeoutMs !== undefined) {
      await this.createFirst(c, undefined, signal);
      return;
    }
    if (this.#confidential) {
      throw new RuntimeError(
        'failed_precondition',
        'ERR_RUNTIME_UNSUPPORTED',
        `container ${c.containerId}: a confidential pod gets no disk hot-plug, so a second container cannot get a rootfs from the host (use guest image pull)`,
      );
    }
    if (this.#disks.has(c.containerId))
      throw new RuntimeError(
        'already_exists',
        'ERR_RUNTIME_EXISTS',
        `container ${c.containerId} already has a disk`,
      );
    const id = `c${String(++this.#diskSeq)}`;
    const img = await buildRootfsImage(
      c.rootfsDir,
      join(this.#stateDir, `${c.containerId}.erofs`),
      { confidential: false, signal },
    );
    const hd: HotplugDisk = { id, path: img.path };
    try {
      await this.#vm.attachDisk({ id: hd.id, path: hd.path, readonly: true }, { signal });
    } catch (err) {
      await rm(hd.path, { force: true }).catch(() => undefined);
      throw err;
    }
    this.#disks.set(c.containerId, hd);
    try {
      await this.createFirst(c, serialSource(hd.id), signal);
    } catch (err) {
      await this.#releaseDisk(c.containerId);
      throw err;
    }
  }

  /** Best effort: unplugs a container's hot-plugged rootfs disk and deletes its image. */
  async #releaseDisk(containerId: string): Promise<void> {
    const d = this.#disks.get(containerId);
    if (d === undefined) return;
    this.#disks.delete(containerId);
    try {
      await this.#vm.detachDisk(d.id, { timeoutMs: 30_000 });
      await rm(d.path, { force: true });
    } catch (err) {
      this.#log.warn('cannot detach the rootfs disk of a removed container', {
        container_id: containerId,
        disk: d.id,
        err: describeError(err),
      });
    }
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

  async removeContainer(containerId: string, signal?: AbortSignal): Promise<void> {
    await this.#agent.removeContainer(containerId, { signal });
    await this.#releaseDisk(containerId);
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
      await this.#onStopped?.();
    })();
    return this.#stopped;
  }
}
