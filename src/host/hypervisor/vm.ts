import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { abortable, NULL_LOGGER, StateMachine, withDeadline, type Logger } from '#src/lib/index.js';
import { resolveAccel } from './accel-probe.js';
import { readConsoleTail } from './console-tail.js';
import { HypervisorError } from './errors.js';
import { describeExit, SupervisedProcess, type ExitInfo } from './process-supervisor.js';
import { DiskHotplug, type DetachDiskOptions } from './disk-hotplug.js';
import { buildQemuArgs, hotplugPorts } from './qemu-args.js';
import { qemuLaunch } from './net-device-args.js';
import { QmpClient, type QmpEvent, type QmpStatus } from './qmp-client.js';
import { requireTee } from './tee-host.js';
import { checkSocketPath, validateVmSpec } from './validate-vm-spec.js';
import {
  isConfidential,
  type Accel,
  type AccelMode,
  type DiskSpec,
  type VmSpec,
} from './vm-spec.js';

export type VmState = 'starting' | 'running' | 'paused' | 'stopping' | 'stopped';

const VM_TRANSITIONS = {
  starting: ['running', 'stopping', 'stopped'],
  running: ['paused', 'stopping', 'stopped'],
  paused: ['running', 'stopping', 'stopped'],
  stopping: ['stopped'],
  stopped: [],
} as const satisfies Record<VmState, readonly VmState[]>;

export interface StartVmOptions {
  readonly qemuBinary: string;
  readonly accel: AccelMode;
  readonly logger?: Logger | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Root of /sys for TEE detection (tests pass a fake tree). */
  readonly sysfsRoot?: string | undefined;
  /** Where the acceleration probe caches its answer. */
  readonly probeCacheDir?: string | undefined;
  readonly devKvm?: string | undefined;
  /** Bound on spawn → QMP ready (default 30 s). */
  readonly startTimeoutMs?: number | undefined;
}

export interface VmOpOptions {
  readonly signal?: AbortSignal | undefined;
}

export interface VmStopOptions extends VmOpOptions {
  /** Total time for quit → SIGTERM → SIGKILL (default 10 s). */
  readonly timeoutMs?: number | undefined;
}

/** A running QEMU. See README.md for the lifecycle. */
export interface Vm {
  readonly id: string;
  readonly pid: number;
  readonly accel: Accel;
  readonly state: VmState;
  readonly exited: Promise<ExitInfo>;
  /** The last `lines` lines of the guest serial console. */
  consoleTail(lines: number): string[];
  /** QEMU's stderr tail. */
  stderrTail(lines: number): string[];
  onEvent(listener: (e: QmpEvent) => void): () => void;
  /** QEMU's run state (query-status). */
  status(options?: VmOpOptions): Promise<QmpStatus>;
  pause(options?: VmOpOptions): Promise<void>;
  resume(options?: VmOpOptions): Promise<void>;
  /** QMP quit, then SIGTERM, then SIGKILL; removes the VM's sockets. Idempotent. */
  stop(options?: VmStopOptions): Promise<void>;
  /**
   * Hot-plugs `disk` as a virtio-blk (serial = disk id) into a free PCIe root port. q35 guests
   * without a TEE only; others fail `failed_precondition` / ERR_VM_HOTPLUG.
   */
  attachDisk(disk: DiskSpec, options?: VmOpOptions): Promise<void>;
  /** Unplugs a hot-plugged disk: device_del, wait for DEVICE_DELETED, blockdev-del. */
  detachDisk(id: string, options?: DetachDiskOptions): Promise<void>;
}

function socketsOf(spec: VmSpec, qmpPath: string): string[] {
  const out = [qmpPath];
  if (spec.agentChannel.kind !== 'vsock') out.push(spec.agentChannel.socketPath);
  return out;
}

function removeSockets(paths: readonly string[]): void {
  for (const p of paths) rmSync(p, { force: true });
}

function exitedEarly(spec: VmSpec, proc: SupervisedProcess, e: ExitInfo): HypervisorError {
  const stderr = proc.stderrTail(8).join(' | ');
  const cons = readConsoleTail(spec.consoleLogPath, 8).join(' | ');
  return new HypervisorError(
    'internal',
    'ERR_QEMU_EXITED',
    `qemu for vm ${spec.id} exited with ${describeExit(e)} before it was ready; stderr: ${stderr === '' ? '(empty)' : stderr}; console: ${cons === '' ? '(empty)' : cons}`,
  );
}

/** Starts QEMU for `spec` and returns once QMP answers. Every failure path leaves no process or socket. */
export async function startVm(spec: VmSpec, options: StartVmOptions): Promise<Vm> {
  const log = (options.logger ?? NULL_LOGGER).child({ subsystem: 'hypervisor', vm_id: spec.id });
  validateVmSpec(spec);
  requireTee(spec.tee.kind, options.sysfsRoot);
  const decision = await resolveAccel({
    qemuBinary: options.qemuBinary,
    kernel: spec.kernel,
    mode: options.accel,
    cacheDir: options.probeCacheDir,
    devKvm: options.devKvm,
    logger: log,
    signal: options.signal,
  });
  mkdirSync(spec.stateDir, { recursive: true });
  const qmpPath = join(spec.stateDir, 'qmp.sock');
  checkSocketPath(qmpPath, 'qmp socket');
  const sockets = socketsOf(spec, qmpPath);
  removeSockets(sockets);
  const args = buildQemuArgs(spec, { accel: decision.accel, qmpSocketPath: qmpPath });
  const t0 = Date.now();
  const launch = qemuLaunch(options.qemuBinary, args, spec.networkNamespace);
  const proc = await SupervisedProcess.spawn(launch.binary, launch.args, { logger: log });
  let qmp: QmpClient | undefined;
  try {
    const signal = withDeadline(options.startTimeoutMs ?? 30_000, options.signal);
    const early = proc.exited.then((e) => Promise.reject(exitedEarly(spec, proc, e)));
    early.catch(() => undefined);
    qmp = await abortable(
      Promise.race([
        QmpClient.connect(qmpPath, {
          signal,
          logger: log,
          timeoutMs: options.startTimeoutMs ?? 30_000,
          isPeerGone: () => proc.hasExited,
        }),
        early,
      ]),
      signal,
      `starting vm ${spec.id}`,
    );
    const status = await abortable(
      Promise.race([qmp.queryStatus({ signal }), early]),
      signal,
      `starting vm ${spec.id}`,
    );
    log.info('vm started', {
      pid: proc.pid,
      accel: decision.accel,
      accel_reason: decision.reason,
      qmp_ms: Date.now() - t0,
      status: status.status,
      tee: spec.tee.kind,
    });
    return new QemuVm(spec, proc, qmp, decision.accel, sockets, log);
  } catch (err) {
    await qmp?.close();
    // a QMP failure is usually QEMU dying: report the exit with its stderr and console instead
    const gone = await Promise.race([
      proc.exited,
      new Promise<undefined>((r) => setTimeout(r, 500, undefined)),
    ]);
    await proc.close({ graceMs: 2000 });
    removeSockets(sockets);
    if (gone !== undefined && !(err instanceof HypervisorError && err.code === 'ERR_QEMU_EXITED'))
      throw exitedEarly(spec, proc, gone);
    throw err;
  }
}

class QemuVm implements Vm {
  readonly id: string;
  readonly pid: number;
  readonly accel: Accel;
  readonly exited: Promise<ExitInfo>;
  readonly #spec: VmSpec;
  readonly #proc: SupervisedProcess;
  readonly #qmp: QmpClient;
  readonly #sockets: readonly string[];
  readonly #log: Logger;
  readonly #sm: StateMachine<VmState>;
  readonly #hotplug: DiskHotplug;
  #stopping: Promise<void> | undefined;

  constructor(
    spec: VmSpec,
    proc: SupervisedProcess,
    qmp: QmpClient,
    accel: Accel,
    sockets: readonly string[],
    log: Logger,
  ) {
    this.id = spec.id;
    this.pid = proc.pid;
    this.accel = accel;
    this.#spec = spec;
    this.#proc = proc;
    this.#qmp = qmp;
    this.#sockets = sockets;
    this.#log = log;
    this.#sm = new StateMachine<VmState>(
      `vm ${spec.id}`,
      'running',
      VM_TRANSITIONS,
      'ERR_VM_STATE',
    );
    this.exited = proc.exited;
    this.#hotplug = new DiskHotplug(
      qmp,
      hotplugPorts(spec.machine ?? 'q35', isConfidential(spec.tee)),
      log.child({ subsystem: 'hotplug' }),
    );
    qmp.onEvent((e) => {
      this.#onEvent(e);
    });
    void proc.exited.then((e) => {
      this.#onExit(e);
    });
  }

  get state(): VmState {
    return this.#sm.state;
  }

  consoleTail(lines: number): string[] {
    return readConsoleTail(this.#spec.consoleLogPath, lines);
  }

  stderrTail(lines: number): string[] {
    return this.#proc.stderrTail(lines);
  }

  onEvent(listener: (e: QmpEvent) => void): () => void {
    return this.#qmp.onEvent(listener);
  }

  status(options: VmOpOptions = {}): Promise<QmpStatus> {
    return this.#qmp.queryStatus(options);
  }

  async pause(options: VmOpOptions = {}): Promise<void> {
    this.#require('pause', 'running');
    await this.#qmp.stop(options);
    if (this.#sm.is('running')) this.#sm.move('paused');
  }

  async resume(options: VmOpOptions = {}): Promise<void> {
    this.#require('resume', 'paused');
    await this.#qmp.cont(options);
    if (this.#sm.is('paused')) this.#sm.move('running');
  }

  stop(options: VmStopOptions = {}): Promise<void> {
    this.#stopping ??= this.#stop(options);
    return this.#stopping;
  }

  async attachDisk(disk: DiskSpec, options: VmOpOptions = {}): Promise<void> {
    this.#require('attach a disk to', 'running', 'paused');
    if (isConfidential(this.#spec.tee))
      throw new HypervisorError(
        'failed_precondition',
        'ERR_VM_HOTPLUG',
        `vm ${this.id} is a ${this.#spec.tee.kind} guest: confidential guests get no hot-plug (boot with the disk instead)`,
      );
    if ((this.#spec.machine ?? 'q35') !== 'q35')
      throw new HypervisorError(
        'failed_precondition',
        'ERR_VM_HOTPLUG',
        `vm ${this.id} runs machine ${this.#spec.machine ?? 'q35'}: disk hot-plug needs q35`,
      );
    await this.#hotplug.attach(disk, options);
  }

  async detachDisk(id: string, options: DetachDiskOptions = {}): Promise<void> {
    this.#require('detach a disk from', 'running', 'paused');
    await this.#hotplug.detach(id, options);
  }

  #require(action: string, ...states: VmState[]): void {
    if (!states.includes(this.#sm.state)) {
      throw new HypervisorError(
        'failed_precondition',
        'ERR_VM_STATE',
        `cannot ${action} vm ${this.id}: it is ${this.#sm.state}`,
      );
    }
  }

  async #stop(options: VmStopOptions): Promise<void> {
    const total = options.timeoutMs ?? 10_000;
    if (this.#sm.canMove('stopping')) this.#sm.move('stopping');
    if (!this.#proc.hasExited && !this.#qmp.isClosed) {
      try {
        const quitSignal = withDeadline(Math.max(100, total / 2), options.signal);
        await this.#qmp.quit({ signal: quitSignal });
        await abortable(this.#proc.exited, quitSignal, `vm ${this.id} quit`);
      } catch (err) {
        this.#log.warn('qmp quit did not stop qemu, terminating', { error: err });
      }
    }
    const e = await this.#proc.close({ graceMs: Math.max(100, total / 2) });
    await this.#qmp.close();
    removeSockets(this.#sockets);
    if (this.#sm.canMove('stopped')) this.#sm.move('stopped');
    this.#log.info('vm stopped', { pid: this.pid, exit: describeExit(e) });
  }

  #onEvent(e: QmpEvent): void {
    if (e.event === 'STOP' && this.#sm.is('running')) this.#sm.move('paused');
    else if (e.event === 'RESUME' && this.#sm.is('paused')) this.#sm.move('running');
  }

  #onExit(e: ExitInfo): void {
    if (this.#sm.canMove('stopped') && !this.#sm.is('stopping')) {
      this.#log.warn('qemu exited', {
        pid: this.pid,
        exit: describeExit(e),
        stderr: this.#proc.stderrTail(5),
      });
      this.#sm.move('stopped');
      removeSockets(this.#sockets);
      void this.#qmp.close();
    }
  }
}
