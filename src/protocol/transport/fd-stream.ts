import { close, read } from 'node:fs';
import { Duplex } from 'node:stream';
import { describeError } from '#src/lib/index.js';
import { TransportError } from './errors.js';
import { writeAll } from './fd-writer.js';

const READ_SIZE = 64 * 1024;

/**
 * A Duplex over a blocking socket fd that libuv cannot wrap in a net.Socket (AF_VSOCK is reported as
 * an unknown handle type). Reads run one at a time in the thread pool; EOF ends the stream; destroy
 * calls `shutdown` (to wake the blocked read) and closes the fd. @internal
 */
export class FdStream extends Duplex {
  readonly #fd: number;
  readonly #shutdown: (fd: number) => void;
  #reading = false;
  #closed = false;

  constructor(fd: number, shutdown: (fd: number) => void) {
    super({ allowHalfOpen: false });
    this.#fd = fd;
    this.#shutdown = shutdown;
  }

  override _read(): void {
    if (this.#reading || this.#closed) return;
    this.#reading = true;
    const buf = Buffer.allocUnsafe(READ_SIZE);
    read(this.#fd, buf, 0, buf.length, null, (err, n) => {
      this.#reading = false;
      if (this.#closed) return;
      if (err) {
        this.destroy(
          new TransportError(
            'unavailable',
            'ERR_TRANSPORT_IO',
            `vsock read failed: ${err.message}`,
            { cause: err },
          ),
        );
        return;
      }
      if (n === 0) {
        this.push(null);
        return;
      }
      if (this.push(buf.subarray(0, n))) this._read();
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    writeAll(this.#fd, chunk).then(
      () => {
        cb();
      },
      (err: unknown) => {
        cb(
          new TransportError(
            'unavailable',
            'ERR_TRANSPORT_IO',
            `vsock write failed: ${describeError(err)}`,
            { cause: err },
          ),
        );
      },
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.#closed) {
      cb(err);
      return;
    }
    this.#closed = true;
    try {
      this.#shutdown(this.#fd);
    } catch {
      // already disconnected
    }
    close(this.#fd, () => {
      cb(err);
    });
  }
}
