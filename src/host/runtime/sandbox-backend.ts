import type { ContainerStats } from './types.js';

/** A container as the backend needs it: the parsed OCI spec and where its rootfs is on the host. */
export interface BackendContainer {
  readonly containerId: string;
  readonly bundle: string;
  /** The parsed `config.json` (validated shape: an object with `process`/`root`). */
  readonly ociSpec: Readonly<Record<string, unknown>>;
  /** The host directory holding the container's root filesystem (mounted by the runtime). */
  readonly rootfsDir: string;
  readonly terminal: boolean;
  /** The CRI sandbox (pause) container, or the only container of a `ctr run` pod. */
  readonly isSandbox: boolean;
}

export interface SandboxStartSpec {
  readonly sandboxId: string;
  readonly namespace: string;
  readonly annotations: Readonly<Record<string, string>>;
  /** The sandbox's own state folder (console log, sockets, disk images). */
  readonly stateDir: string;
  /** The first container; its rootfs is attached at boot. */
  readonly first: BackendContainer;
}

/** The process-level IO of one guest process. */
export interface BackendProcessIo {
  /** The next stdout chunk, or undefined at end of stream. */
  readStdout(signal?: AbortSignal): Promise<Uint8Array | undefined>;
  readStderr(signal?: AbortSignal): Promise<Uint8Array | undefined>;
  writeStdin(data: Uint8Array, signal?: AbortSignal): Promise<void>;
  closeStdin(signal?: AbortSignal): Promise<void>;
  resize(width: number, height: number, signal?: AbortSignal): Promise<void>;
}

/**
 * Where pods run. The real one boots a VM and drives the agent inside (`VmSandboxBackend`); the
 * runtime sees only this. All calls reject with CcErrors carrying meaningful kinds.
 */
export interface SandboxBackend {
  /** The pid of the pod's VM process on the host (0 if none). */
  readonly vmPid: number;
  /** Resolves when the pod's VM is gone (crashed or stopped). */
  readonly exited: Promise<void>;
  /** Creates a container (the sandbox's first container is created by `start`). */
  createContainer(c: BackendContainer, signal?: AbortSignal): Promise<void>;
  /** Starts the container's init process; returns its pid in the guest. */
  startContainer(containerId: string, signal?: AbortSignal): Promise<number>;
  execProcess(
    containerId: string,
    execId: string,
    process: unknown,
    terminal: boolean,
    signal?: AbortSignal,
  ): Promise<number>;
  io(containerId: string, execId: string): BackendProcessIo;
  /** Waits for the process to exit; returns its exit status. */
  waitProcess(containerId: string, execId: string, signal?: AbortSignal): Promise<number>;
  signalProcess(
    containerId: string,
    execId: string,
    sig: number,
    all: boolean,
    signal?: AbortSignal,
  ): Promise<void>;
  removeContainer(containerId: string, signal?: AbortSignal): Promise<void>;
  pauseContainer(containerId: string, signal?: AbortSignal): Promise<void>;
  resumeContainer(containerId: string, signal?: AbortSignal): Promise<void>;
  updateContainer(containerId: string, resources: unknown, signal?: AbortSignal): Promise<void>;
  stats(containerId: string, signal?: AbortSignal): Promise<ContainerStats>;
  /** Pids of the container's processes, as the guest sees them. */
  pids(containerId: string, signal?: AbortSignal): Promise<number[]>;
  /** Resolves with the id of the next container that hit its memory limit. */
  nextOom(signal: AbortSignal): Promise<string>;
  /** Stops the pod: destroys the sandbox in the guest and stops the VM. Idempotent. */
  stop(signal?: AbortSignal): Promise<void>;
}

export interface SandboxBackendFactory {
  start(spec: SandboxStartSpec, signal?: AbortSignal): Promise<SandboxBackend>;
  /**
   * Whether containers take their rootfs from the host (containerd's mounts, on the bundle's
   * rootfs). False when the guest pulls every image (confidential pods, `runtime.guest_pull`):
   * then containerd's rootfs is never mounted or handed to the guest. Absent means true.
   */
  readonly hostRootfs?: boolean | undefined;
}
