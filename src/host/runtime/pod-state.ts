import type { ContainerRecord, SandboxRecord, StateStore } from '#src/host/persist/index.js';

/** The persisted record of the pod, rewritten on every change that `shim delete` needs. */
export class PodState {
  readonly #store: StateStore;
  #record: SandboxRecord;
  #removed = false;

  constructor(
    store: StateStore,
    sandboxId: string,
    namespace: string,
    shimPid: number,
    socketPath: string,
  ) {
    this.#store = store;
    this.#record = {
      version: 1,
      sandboxId,
      namespace,
      shimPid,
      vmPid: 0,
      vmStateDir: '',
      socketPath,
      containers: [],
    };
    this.#save();
  }

  get dir(): string {
    return this.#store.dirOf(this.#record.sandboxId);
  }

  #save(): void {
    if (!this.#removed) this.#store.save(this.#record);
  }

  setVm(vmPid: number, vmStateDir: string): void {
    this.#record = { ...this.#record, vmPid, vmStateDir };
    this.#save();
  }

  addContainer(containerId: string, bundle: string, mounts: readonly string[]): void {
    const c: ContainerRecord = { containerId, bundle, files: [], mounts };
    this.#record = {
      ...this.#record,
      containers: [...this.#record.containers.filter((x) => x.containerId !== containerId), c],
    };
    this.#save();
  }

  removeContainer(containerId: string): void {
    this.#record = {
      ...this.#record,
      containers: this.#record.containers.filter((x) => x.containerId !== containerId),
    };
    this.#save();
  }

  remove(): void {
    this.#removed = true;
    this.#store.remove(this.#record.sandboxId);
  }
}
