import { TeeError } from './errors.js';

/**
 * A bounds-checked little-endian cursor over evidence bytes. Every read names the field, so a
 * truncated input fails with `ERR_TEE_TRUNCATED: <what>.<field> at offset N needs M bytes`.
 */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #what: string;
  readonly #end: number;
  #pos: number;

  constructor(bytes: Uint8Array, what: string, start = 0, end = bytes.byteLength) {
    this.#bytes = bytes;
    this.#what = what;
    this.#pos = start;
    this.#end = end;
  }

  get offset(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.#end - this.#pos;
  }

  #take(field: string, length: number): number {
    if (length < 0 || this.#pos + length > this.#end) {
      throw new TeeError(
        'invalid_argument',
        'ERR_TEE_TRUNCATED',
        `${this.#what}.${field} at offset ${this.#pos} needs ${length} bytes, ${Math.max(0, this.#end - this.#pos)} left`,
      );
    }
    const at = this.#pos;
    this.#pos += length;
    return at;
  }

  /** A copy of the next `length` bytes. */
  bytes(field: string, length: number): Uint8Array {
    const at = this.#take(field, length);
    return this.#bytes.slice(at, at + length);
  }

  u8(field: string): number {
    return this.#bytes[this.#take(field, 1)] ?? 0;
  }

  u16(field: string): number {
    const at = this.#take(field, 2);
    return (this.#bytes[at] ?? 0) | ((this.#bytes[at + 1] ?? 0) << 8);
  }

  u32(field: string): number {
    const at = this.#take(field, 4);
    return (
      ((this.#bytes[at] ?? 0) |
        ((this.#bytes[at + 1] ?? 0) << 8) |
        ((this.#bytes[at + 2] ?? 0) << 16)) +
      (this.#bytes[at + 3] ?? 0) * 0x1000000
    );
  }

  u64(field: string): bigint {
    const lo = BigInt(this.u32(`${field}[lo]`));
    const hi = BigInt(this.u32(`${field}[hi]`));
    return (hi << 32n) | lo;
  }

  skip(field: string, length: number): void {
    this.#take(field, length);
  }
}
