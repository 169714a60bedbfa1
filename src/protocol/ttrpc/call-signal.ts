import { TtrpcError } from './errors.js';

export interface CallOptions {
  /** Aborting stops waiting for the answer (ttrpc has no cancel frame; the server may still run it). */
  readonly signal?: AbortSignal | undefined;
  /** Deadline for the call; sent as `timeout_nano` so the server's handler sees it too. */
  readonly timeoutMs?: number | undefined;
  readonly metadata?: Readonly<Record<string, string | readonly string[]>> | undefined;
}

/** The signal a call waits on (caller's signal and/or deadline), or undefined for neither. @internal */
export function callSignal(opts: CallOptions): AbortSignal | undefined {
  const { signal, timeoutMs } = opts;
  if (timeoutMs === undefined) return signal;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TtrpcError(
      'invalid_argument',
      'ERR_TTRPC_PROTOCOL',
      `timeoutMs must be > 0, got ${timeoutMs}`,
    );
  }
  const deadline = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, deadline]) : deadline;
}

/** `timeout_nano` for the request envelope. @internal */
export function timeoutNano(opts: CallOptions): number {
  return opts.timeoutMs === undefined ? 0 : Math.round(opts.timeoutMs * 1e6);
}

/** The error for a call whose signal aborted: deadline_exceeded for timeouts, cancelled otherwise. @internal */
export function abortedCallError(signal: AbortSignal, what: string): TtrpcError {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new TtrpcError('deadline_exceeded', 'ERR_TTRPC_DEADLINE', `${what}: deadline exceeded`, {
      cause: reason,
    });
  }
  return new TtrpcError('cancelled', 'ERR_TTRPC_CANCELLED', `${what}: cancelled`, {
    cause: reason,
  });
}
