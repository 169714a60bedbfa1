import type { Duplex } from 'node:stream';
import { abortable, describeError } from '#src/lib/index.js';
import { TransportError } from './errors.js';
import { FdStream } from './fd-stream.js';

/**
 * The AF_VSOCK syscalls, as `#native/index.js` exports them. Passed in by the program (L2) because
 * protocol code (L1) does not import the addon.
 */
export interface VsockBinding {
  isAvailable(): boolean;
  unavailableReason(): string;
  vsockSupported(): boolean;
  vsockListen(port: number, opts?: { cid?: number; backlog?: number }): number;
  vsockConnect(cid: number, port: number): Promise<number>;
  vsockAccept(listenFd: number): Promise<{ fd: number; cid: number; port: number }>;
  shutdownFd(fd: number): void;
}

/** Throws an `unavailable` TransportError naming why vsock cannot work here. */
export function assertVsock(binding: VsockBinding): void {
  if (!binding.isAvailable()) {
    throw new TransportError(
      'unavailable',
      'ERR_TRANSPORT_UNAVAILABLE',
      `vsock: ${binding.unavailableReason()}`,
    );
  }
  if (!binding.vsockSupported()) {
    throw new TransportError(
      'unavailable',
      'ERR_TRANSPORT_UNAVAILABLE',
      'vsock: no AF_VSOCK support on this host',
    );
  }
}

/** Connects to `cid:port`; the result is a Duplex over the socket. */
export async function connectVsock(
  binding: VsockBinding,
  cid: number,
  port: number,
  opts: { readonly signal?: AbortSignal | undefined } = {},
): Promise<Duplex> {
  assertVsock(binding);
  const pending = binding.vsockConnect(cid, port);
  try {
    const fd = await abortable(pending, opts.signal, `vsock connect to ${cid}:${port}`);
    return new FdStream(fd, (f) => {
      binding.shutdownFd(f);
    });
  } catch (err) {
    // an abandoned connect still completes in the thread pool: close what it yields
    pending.then(
      (fd) => {
        new FdStream(fd, (f) => {
          binding.shutdownFd(f);
        }).destroy();
      },
      () => undefined,
    );
    if (err instanceof TransportError) throw err;
    throw new TransportError(
      (err as { kind?: TransportError['kind'] }).kind ?? 'unavailable',
      'ERR_TRANSPORT_CONNECT',
      `cannot connect to vsock ${cid}:${port}: ${describeError(err)}`,
      { cause: err },
    );
  }
}

/** A listening vsock port yielding accepted connections. */
export class VsockListener {
  readonly port: number;
  readonly #binding: VsockBinding;
  readonly #fd: number;
  #closed = false;

  constructor(binding: VsockBinding, port: number, opts: { cid?: number; backlog?: number } = {}) {
    assertVsock(binding);
    this.#binding = binding;
    this.port = port;
    this.#fd = binding.vsockListen(port, opts);
  }

  isClosed(): boolean {
    return this.#closed;
  }

  /** Accepted connections until close(). */
  async *connections(): AsyncGenerator<Duplex, void, undefined> {
    while (!this.isClosed()) {
      {
        let accepted: { fd: number };
        try {
          accepted = await this.#binding.vsockAccept(this.#fd);
        } catch (err) {
          if (this.isClosed()) return;
          throw new TransportError(
            'unavailable',
            'ERR_TRANSPORT_IO',
            `vsock accept on port ${this.port}: ${describeError(err)}`,
            { cause: err },
          );
        }
        yield new FdStream(accepted.fd, (f) => {
          this.#binding.shutdownFd(f);
        });
      }
    }
  }

  /** Stops accepting (shutdown wakes the blocked accept) and closes the listening fd. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#binding.shutdownFd(this.#fd);
      } catch {
        // not connected is fine for a listener
      }
      new FdStream(this.#fd, () => undefined).destroy();
    }
    return Promise.resolve();
  }
}
