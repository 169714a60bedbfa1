import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import type { Logger } from '#src/lib/index.js';

export interface ComponentsSupervisorOptions {
  /** The node binary (the agent's own `process.execPath`). */
  readonly node: string;
  /** The guest-components bundle (`guest-components.mjs` beside the agent bundle). */
  readonly entry: string;
  readonly args?: readonly string[] | undefined;
  readonly log: Logger;
  /** First restart delay; doubles up to `maxDelayMs`. Default 500 ms. */
  readonly initialDelayMs?: number | undefined;
  readonly maxDelayMs?: number | undefined;
  /** Give up after this many exits in a row that came sooner than `stableMs` after the start. */
  readonly maxFastFailures?: number | undefined;
  /** A run this long resets the failure count. Default 60 s. */
  readonly stableMs?: number | undefined;
  /** How long close() waits after SIGTERM before SIGKILL. Default 3 s. */
  readonly killAfterMs?: number | undefined;
  /**
   * Nice value of the process (the agent's own is 0): on the pod VM's one vCPU its Node start-up
   * then yields to the agent's work (CreateSandbox, the pause container). Default: inherited.
   */
  readonly niceness?: number | undefined;
}

export type ComponentsState = 'starting' | 'running' | 'backoff' | 'failed' | 'stopped';

/**
 * Runs the guest-components process (AA, CDH, REST :8006) beside the agent, as its own process so
 * secrets stay out of the process the host talks to. Its stdout/stderr go to the agent's (the VM
 * console). It is restarted with exponential back-off; after `maxFastFailures` quick exits in a
 * row it is left down and the failure is logged as an error (the state is `failed`).
 */
export class ComponentsSupervisor {
  readonly #o: ComponentsSupervisorOptions;
  #child: ChildProcess | undefined;
  #state: ComponentsState = 'stopped';
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #closing = false;
  #exited: Promise<void> = Promise.resolve();
  #starts = 0;

  constructor(o: ComponentsSupervisorOptions) {
    this.#o = o;
  }

  get state(): ComponentsState {
    return this.#state;
  }

  /** How many times the process was started. */
  get starts(): number {
    return this.#starts;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): void {
    if (this.#closing || this.#child !== undefined) return;
    this.#spawn();
  }

  #spawn(): void {
    const { log } = this.#o;
    this.#state = 'starting';
    this.#starts++;
    const t0 = Date.now();
    let child: ChildProcess;
    try {
      child = spawn(this.#o.node, [this.#o.entry, ...(this.#o.args ?? [])], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
    } catch (err) {
      this.#onExit(t0, { error: err });
      return;
    }
    this.#child = child;
    this.#lowerPriority(child);
    let resolveExit!: () => void;
    this.#exited = new Promise((r) => (resolveExit = r));
    child.once('spawn', () => {
      if (this.#state === 'starting') this.#state = 'running';
      log.info('guest components started', { pid: child.pid, start: this.#starts });
    });
    let done = false;
    const finish = (info: Record<string, unknown>): void => {
      if (done) return;
      done = true;
      this.#child = undefined;
      resolveExit();
      this.#onExit(t0, info);
    };
    child.once('error', (err) => {
      finish({ error: err });
    });
    child.once('exit', (code, signal) => {
      finish({ code, signal });
    });
  }

  #lowerPriority(child: ChildProcess): void {
    const { niceness } = this.#o;
    if (niceness === undefined || child.pid === undefined) return;
    try {
      setPriority(child.pid, niceness);
    } catch (err) {
      this.#o.log.warn('cannot lower the guest components priority', { niceness, error: err });
    }
  }

  #onExit(t0: number, info: Record<string, unknown>): void {
    const { log } = this.#o;
    if (this.#closing) {
      this.#state = 'stopped';
      return;
    }
    const ran = Date.now() - t0;
    this.#failures = ran >= (this.#o.stableMs ?? 60_000) ? 1 : this.#failures + 1;
    const max = this.#o.maxFastFailures ?? 5;
    if (this.#failures >= max) {
      this.#state = 'failed';
      log.error('guest components keep failing; not restarting them', {
        ...info,
        failures: this.#failures,
        hint: 'attestation, sealed secrets and 127.0.0.1:8006 are unavailable in this pod; see the console above',
      });
      return;
    }
    const base = this.#o.initialDelayMs ?? 500;
    const delay = Math.min(base * 2 ** (this.#failures - 1), this.#o.maxDelayMs ?? 10_000);
    this.#state = 'backoff';
    log.warn('guest components exited; restarting', { ...info, ran_ms: ran, delay_ms: delay });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#spawn();
    }, delay);
  }

  /** Stops the process (SIGTERM, then SIGKILL) and any pending restart; idempotent. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const child = this.#child;
    if (child !== undefined) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), this.#o.killAfterMs ?? 3000);
      await this.#exited;
      clearTimeout(kill);
    }
    this.#state = 'stopped';
  }
}
