import { abortable, type Logger } from '#src/lib/index.js';
import type { Container } from './container.js';

/**
 * Watches the containers' OOM-kill counters (polled, and checked on demand when an init exits)
 * and queues one event per container that had new kills, for GetOOMEvent.
 */
export class OomMonitor {
  readonly #log: Logger;
  readonly #containers: () => Iterable<Container>;
  readonly #queue: string[] = [];
  #waiters: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(log: Logger, containers: () => Iterable<Container>) {
    this.#log = log;
    this.#containers = containers;
  }

  start(pollMs: number): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.#poll(), pollMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Waits for the next container OOM kill and returns the container id. */
  async next(signal?: AbortSignal): Promise<string> {
    for (;;) {
      const id = this.#queue.shift();
      if (id !== undefined) return id;
      await abortable(
        new Promise<void>((r) => this.#waiters.push(r)),
        signal,
        'wait for an oom event',
      );
    }
  }

  async #poll(): Promise<void> {
    for (const c of this.#containers())
      if (c.state === 'running' || c.state === 'paused') await this.check(c);
  }

  /** Reads `c`'s counter now and queues an event if it rose. */
  async check(c: Container): Promise<void> {
    const fresh = await c.newOomKills();
    if (fresh === 0) return;
    this.#log.info('container oom', { container_id: c.id, kills: fresh });
    this.#queue.push(c.id);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
