import { LibError } from './errors.js';

/** A signal that aborts when `outer` does or after `ms`. */
export function withDeadline(ms: number, outer?: AbortSignal): AbortSignal {
  return outer ? AbortSignal.any([outer, AbortSignal.timeout(ms)]) : AbortSignal.timeout(ms);
}

/** The CcError to throw for an aborted signal: deadline_exceeded for timeouts, cancelled otherwise. */
export function abortError(signal: AbortSignal, what = 'operation'): LibError {
  const reason: unknown = signal.reason;
  if (reason instanceof LibError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new LibError('deadline_exceeded', 'ERR_TIMEOUT', `${what} timed out`, { cause: reason });
  }
  return new LibError('cancelled', 'ERR_ABORTED', `${what} was cancelled`, { cause: reason });
}

export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw abortError(signal, what);
}

/** Sleeps `ms`, rejecting early with cancelled/deadline_exceeded when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal, 'sleep'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal, 'sleep'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Races `promise` against `signal`; the promise keeps running but the caller stops waiting. */
export function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  what?: string,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortError(signal, what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(abortError(signal, what));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(err: Error): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface RetryOptions {
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Return false to stop retrying on this error. */
  readonly shouldRetry?: ((err: unknown) => boolean) | undefined;
}

/** Calls `fn` until it succeeds, with exponential back-off; rethrows the last error. */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  let delay = options.initialDelayMs;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(options.signal);
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= options.attempts || options.shouldRetry?.(err) === false) throw err;
    }
    await sleep(delay, options.signal);
    delay = Math.min(delay * 2, options.maxDelayMs);
  }
}
