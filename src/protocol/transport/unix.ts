import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { isSystemError, kindOfErrno, withDeadline } from '#src/lib/index.js';
import { TransportError } from './errors.js';

export interface ConnectOptions {
  readonly signal?: AbortSignal | undefined;
  /** Bound on the whole connect (and handshake, where there is one). Default 10 s. */
  readonly timeoutMs?: number | undefined;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Connects to a unix socket; rejects with ERR_TRANSPORT_CONNECT (kind from errno) or on abort/timeout. */
export function connectUnix(path: string, opts: ConnectOptions = {}): Promise<Socket> {
  const signal = withDeadline(opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, opts.signal);
  return new Promise<Socket>((resolve, reject) => {
    if (signal.aborted) {
      reject(abortedConnect(signal, path));
      return;
    }
    const sock = connect(path);
    const onAbort = (): void => {
      sock.destroy();
      reject(abortedConnect(signal, path));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    sock.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      const kind = isSystemError(err) ? kindOfErrno(err.code) : 'unavailable';
      reject(
        new TransportError(
          kind === 'internal' ? 'unavailable' : kind,
          'ERR_TRANSPORT_CONNECT',
          `cannot connect to ${path}: ${err.message}`,
          { cause: err },
        ),
      );
    });
  });
}

/** The error for a connect cut short by `signal`. @internal */
export function abortedConnect(signal: AbortSignal, target: string): TransportError {
  const reason: unknown = signal.reason;
  const timedOut = reason instanceof Error && reason.name === 'TimeoutError';
  return new TransportError(
    timedOut ? 'deadline_exceeded' : 'cancelled',
    'ERR_TRANSPORT_CONNECT',
    `connecting to ${target} ${timedOut ? 'timed out' : 'was cancelled'}`,
    { cause: reason },
  );
}
