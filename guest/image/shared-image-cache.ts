import { NULL_LOGGER, type Logger } from '#src/lib/index.js';

/** What was acquired, and whether it was made by an earlier or concurrent caller. */
export interface Acquired<T> {
  readonly value: T;
  /** False for the caller whose request started the production. */
  readonly shared: boolean;
}

export interface SharedImageCacheOptions<T> {
  /** Frees a value nobody holds any more (an unpacked image's directory on the store). */
  readonly discard: (value: T) => Promise<void>;
  readonly log?: Logger | undefined;
}

interface Entry<T> {
  readonly controller: AbortController;
  readonly pending: Promise<T>;
  ready: boolean;
  value: T | undefined;
  /** Callers still waiting for `pending`. */
  waiters: number;
  /** Containers holding the value (released one by one at RemoveContainer). */
  readonly holders: Set<string>;
}

function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new DOMException('This operation was aborted', 'AbortError');
}

/** Read through a call: `ready` changes while an acquire awaits (TS would keep it narrowed). */
function settled(e: Entry<unknown>): boolean {
  return e.ready;
}

/** `p`, or the abort of `signal` if it comes first (p keeps running). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * One value per key for the pod's containers (an unpacked image per image digest): made once
 * however many CreateContainers ask at the same time (single flight), held by reference, and kept
 * for the pod's life when nobody holds it (a pod's containers often run one after another: init
 * containers, restarts) until `evictIdle` frees the idle ones to make room. Each caller waits
 * under its own signal; the production runs under its own and is aborted only when every waiter
 * has gone. A failed production is not kept: the next caller tries again.
 */
export class SharedImageCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #o: SharedImageCacheOptions<T>;
  readonly #log: Logger;

  constructor(options: SharedImageCacheOptions<T>) {
    this.#o = options;
    this.#log = options.log ?? NULL_LOGGER;
  }

  /** Keys with a value or a production in flight (for tests and logs). */
  get size(): number {
    return this.#entries.size;
  }

  /** How many containers hold `key` (0 when absent or still being made). */
  holders(key: string): number {
    const e = this.#entries.get(key);
    return e?.ready === true ? e.holders.size : 0;
  }

  async acquire(
    key: string,
    holder: string,
    produce: (signal: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<Acquired<T>> {
    if (signal?.aborted === true) throw abortError(signal);
    let e = this.#entries.get(key);
    const shared = e !== undefined;
    if (e === undefined) e = this.#start(key, produce);
    if (e.ready) {
      e.holders.add(holder);
      return { value: e.value as T, shared };
    }
    e.waiters++;
    try {
      const value = await raceAbort(e.pending, signal);
      e.holders.add(holder);
      return { value, shared };
    } finally {
      e.waiters--;
      if (!settled(e) && e.waiters === 0 && this.#entries.get(key) === e) {
        // every caller gave up: stop the production; a later caller starts afresh
        this.#entries.delete(key);
        e.controller.abort(new DOMException('every waiter gave up', 'AbortError'));
      }
    }
  }

  /** Drops `holder`'s reference (the value stays, idle, when it was the last). No-op if unknown. */
  release(key: string, holder: string): Promise<void> {
    this.#entries.get(key)?.holders.delete(holder);
    return Promise.resolve();
  }

  /** Frees every value nobody holds; how many were freed (a failure to free is logged). */
  async evictIdle(): Promise<number> {
    let n = 0;
    for (const [key, e] of [...this.#entries]) {
      if (!e.ready || e.holders.size > 0 || e.waiters > 0) continue;
      this.#entries.delete(key);
      await this.#discardOrphan(key, e.value as T);
      n++;
    }
    return n;
  }

  #start(key: string, produce: (signal: AbortSignal) => Promise<T>): Entry<T> {
    const controller = new AbortController();
    const pending = Promise.resolve().then(() => produce(controller.signal));
    const e: Entry<T> = {
      controller,
      pending,
      ready: false,
      value: undefined,
      waiters: 0,
      holders: new Set(),
    };
    this.#entries.set(key, e);
    pending.then(
      (value) => {
        e.value = value;
        e.ready = true;
        // finished after every waiter left (or a newer entry replaced it): nobody will hold it
        if (this.#entries.get(key) !== e) void this.#discardOrphan(key, value);
      },
      () => {
        if (this.#entries.get(key) === e) this.#entries.delete(key);
      },
    );
    return e;
  }

  async #discardOrphan(key: string, value: T): Promise<void> {
    try {
      await this.#o.discard(value);
    } catch (err) {
      this.#log.warn('cannot free an image nobody holds', { key, error: String(err) });
    }
  }
}
