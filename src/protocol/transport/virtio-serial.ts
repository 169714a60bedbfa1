import { close, open, read } from 'node:fs';
import { Duplex } from 'node:stream';
import { deferred, describeError, isSystemError, NULL_LOGGER, sleep } from '#src/lib/index.js';
import type { Logger } from '#src/lib/index.js';
import { TransportError } from './errors.js';
import { writeAll } from './fd-writer.js';

export interface VirtioSerialOptions {
  /** Longest sleep between reads while the host side is disconnected (EOF) or no data (EAGAIN). Default 50 ms. */
  readonly maxPollMs?: number | undefined;
  readonly logger?: Logger | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface VirtioSerialFds {
  readonly readFd: number;
  readonly writeFd: number;
}

type PortState = 'idle' | 'active' | 'discarding' | 'closed';

const READ_SIZE = 64 * 1024;

/**
 * The guest side of a virtio-serial port (`/dev/virtio-ports/<name>`). The character device stays
 * open for the life of the VM; the host connecting and disconnecting its chardev socket shows up as
 * data flowing and as `read()` returning 0. Each host session becomes one Duplex, yielded by
 * `connections()`: EOF ends the current Duplex, the next data starts a new one. EOF is never final.
 */
export class VirtioSerialPort {
  readonly #fds: VirtioSerialFds;
  readonly #ownsFds: boolean;
  readonly #maxPollMs: number;
  readonly #log: Logger;
  readonly #stop = new AbortController();
  readonly #loopDone = deferred<undefined>();
  readonly #pending: Duplex[] = [];
  #waiter: ((d: Duplex | undefined) => void) | undefined;
  #current: Duplex | undefined;
  #state: PortState = 'idle';

  /** Opens the device read-write (blocking reads run in libuv's thread pool). */
  static async open(path: string, opts: VirtioSerialOptions = {}): Promise<VirtioSerialPort> {
    const fd = await new Promise<number>((resolve, reject) => {
      open(path, 'r+', (err, f) => {
        if (err)
          reject(
            new TransportError(
              'unavailable',
              'ERR_TRANSPORT_IO',
              `cannot open virtio-serial port ${path}: ${err.message}`,
              { cause: err },
            ),
          );
        else resolve(f);
      });
    });
    return new VirtioSerialPort({ readFd: fd, writeFd: fd }, opts, true);
  }

  /** Wraps already-open fds (e.g. two FIFOs in tests); the caller keeps ownership of them. */
  constructor(fds: VirtioSerialFds, opts: VirtioSerialOptions = {}, ownsFds = false) {
    this.#fds = fds;
    this.#ownsFds = ownsFds;
    this.#maxPollMs = opts.maxPollMs ?? 50;
    this.#log = (opts.logger ?? NULL_LOGGER).child({ subsystem: 'virtio-serial' });
    opts.signal?.addEventListener('abort', () => void this.close(), { once: true });
    void this.#readLoop().finally(() => {
      this.#loopDone.resolve(undefined);
    });
  }

  get state(): PortState {
    return this.#state;
  }

  /** Successive host sessions, each a Duplex; ends when the port is closed. */
  async *connections(): AsyncGenerator<Duplex, void, undefined> {
    for (;;) {
      const next =
        this.#pending.shift() ??
        (this.#state === 'closed' ? undefined : await this.#nextConnection());
      if (!next) return;
      yield next;
    }
  }

  /** Stops the read loop, ends the current session and (for open()) closes the device. Idempotent. */
  async close(): Promise<void> {
    if (this.#state !== 'closed') {
      this.#state = 'closed';
      this.#stop.abort();
      this.#current?.push(null);
      this.#current = undefined;
      this.#waiter?.(undefined);
      this.#waiter = undefined;
      if (this.#ownsFds)
        await new Promise<void>((resolve) => {
          close(this.#fds.readFd, () => {
            resolve();
          });
        });
    }
    await this.#loopDone.promise;
  }

  #nextConnection(): Promise<Duplex | undefined> {
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  async #readLoop(): Promise<void> {
    const buf = Buffer.allocUnsafe(READ_SIZE);
    let backoff = 1;
    while (!this.#isClosed()) {
      let n: number;
      try {
        n = await readOnce(this.#fds.readFd, buf);
      } catch (err) {
        if (this.#isClosed()) return;
        if (!isSystemError(err, 'EAGAIN')) {
          this.#log.warn('virtio-serial read failed', { error: describeError(err) });
        }
        backoff = await this.#pause(backoff);
        continue;
      }
      if (this.#isClosed()) return;
      if (n === 0) {
        this.#onEof();
        backoff = await this.#pause(backoff);
        continue;
      }
      backoff = 1;
      this.#onData(Buffer.from(buf.subarray(0, n)));
    }
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  async #pause(backoff: number): Promise<number> {
    await sleep(backoff, this.#stop.signal).catch(() => undefined);
    return Math.min(backoff * 2, this.#maxPollMs);
  }

  #onEof(): void {
    if (this.#state === 'active') this.#current?.push(null);
    this.#current = undefined;
    if (this.#state !== 'closed') this.#state = 'idle';
  }

  #onData(chunk: Buffer): void {
    if (this.#state === 'discarding') return;
    if (this.#state === 'idle' || !this.#current) {
      this.#current = this.#newSession();
      this.#state = 'active';
      const w = this.#waiter;
      this.#waiter = undefined;
      if (w) w(this.#current);
      else this.#pending.push(this.#current);
    }
    this.#current.push(chunk);
  }

  #newSession(): Duplex {
    const writeFd = this.#fds.writeFd;
    const stop = this.#stop.signal;
    const session: Duplex = new Duplex({
      read() {
        // data is pushed by the port's read loop
      },
      write(chunk: Buffer, _enc, cb) {
        writeAll(writeFd, chunk, stop).then(
          () => {
            cb();
          },
          (err: unknown) => {
            cb(
              new TransportError(
                'unavailable',
                'ERR_TRANSPORT_IO',
                `virtio-serial write failed: ${describeError(err)}`,
                { cause: err },
              ),
            );
          },
        );
      },
      destroy: (err, cb) => {
        // the consumer dropped this session: ignore the rest of it until the host disconnects
        if (this.#current === session && this.#state === 'active') this.#state = 'discarding';
        cb(err);
      },
    });
    return session;
  }
}

function readOnce(fd: number, buf: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buf, 0, buf.length, null, (err, n) => {
      if (err) reject(err);
      else resolve(n);
    });
  });
}
