import { join } from 'node:path';
import { describeError, type Logger } from '#src/lib/index.js';
import type { StateStore } from '#src/host/persist/index.js';
import { RuntimeError } from './errors.js';
import { checkContainerAnnotations } from './pod-annotations.js';
import { PodState } from './pod-state.js';
import type { BackendContainer, SandboxBackend, SandboxBackendFactory } from './sandbox-backend.js';

export interface PodSandboxOptions {
  readonly namespace: string;
  readonly store: StateStore;
  readonly backends: SandboxBackendFactory;
  readonly logger: Logger;
  readonly shimPid: number;
  readonly socketPath: string;
}

/** What `PodSandbox.start` needs: the sandbox and its first container. */
export interface PodSandboxStart {
  readonly sandboxId: string;
  /** Whether the first container is the sandbox's own (else this shim cannot run it). */
  readonly isSandbox: boolean;
  readonly annotations: Readonly<Record<string, string>>;
  readonly first: BackendContainer;
  /** The host mounts of the first container's rootfs (persisted for `shim delete`). */
  readonly mounts: readonly string[];
}

/**
 * The pod's sandbox: the backend (VM) once started, the persisted record beside it, and the
 * shutdown signal that ends every watch loop when the sandbox stops.
 */
export class PodSandbox {
  readonly #o: PodSandboxOptions;
  readonly #shutdown = new AbortController();
  #backend: SandboxBackend | undefined;
  #state: PodState | undefined;
  #annotations: Readonly<Record<string, string>> = {};

  constructor(options: PodSandboxOptions) {
    this.#o = options;
  }

  /** Aborted once the sandbox stops (for good: a shim serves one sandbox). */
  get signal(): AbortSignal {
    return this.#shutdown.signal;
  }

  get vmPid(): number {
    return this.#backend?.vmPid ?? 0;
  }

  /** The backend, or undefined before `start` and after `stop`. */
  get backend(): SandboxBackend | undefined {
    return this.#backend;
  }

  /** The persisted record, or undefined when no sandbox is recorded. */
  get state(): PodState | undefined {
    return this.#state;
  }

  /** The backend; `failed_precondition` when the sandbox does not run. */
  running(): SandboxBackend {
    if (this.#backend === undefined) {
      throw new RuntimeError(
        'failed_precondition',
        'ERR_RUNTIME_SANDBOX',
        'the sandbox is not running',
      );
    }
    return this.#backend;
  }

  /** Records the sandbox with its first container and starts the backend. */
  async start(spec: PodSandboxStart, signal?: AbortSignal): Promise<SandboxBackend> {
    const { sandboxId, annotations, first } = spec;
    if (!spec.isSandbox) {
      throw new RuntimeError(
        'failed_precondition',
        'ERR_RUNTIME_SANDBOX',
        `container ${first.containerId} belongs to sandbox ${sandboxId}, which this shim does not run`,
      );
    }
    const o = this.#o;
    const state = new PodState(o.store, sandboxId, o.namespace, o.shimPid, o.socketPath);
    this.#state = state;
    this.#annotations = annotations;
    state.addContainer(first.containerId, first.bundle, spec.mounts);
    const backend = await o.backends.start(
      { sandboxId, namespace: o.namespace, annotations, stateDir: state.dir, first },
      signal,
    );
    this.#backend = backend;
    state.setVm(backend.vmPid, join(state.dir, 'vm'));
    return backend;
  }

  /**
   * Creates a later container in the running sandbox: its annotations are checked against the
   * sandbox's (`checkContainerAnnotations`), it is recorded, then the backend creates it.
   */
  async createContainer(
    c: BackendContainer,
    annotations: Readonly<Record<string, string>>,
    mounts: readonly string[],
    signal?: AbortSignal,
  ): Promise<void> {
    const backend = this.running();
    checkContainerAnnotations(c.containerId, annotations, this.#annotations, this.#o.logger);
    this.#state?.addContainer(c.containerId, c.bundle, mounts);
    await backend.createContainer(c, signal);
  }

  /** Ends the watch loops, stops the backend (a failure is logged) and removes the record. */
  async stop(): Promise<void> {
    this.#shutdown.abort();
    const backend = this.#backend;
    this.#backend = undefined;
    if (backend) {
      await backend.stop().catch((err: unknown) => {
        this.#o.logger.warn('stopping the sandbox failed', { err: describeError(err) });
      });
    }
    this.#state?.remove();
    this.#state = undefined;
  }
}
