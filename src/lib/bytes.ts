/** Byte helpers shared by the protocol, TEE and OCI code. */

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex))
    throw new TypeError('invalid hex string');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function base64urlEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

export function base64urlDecode(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64url'));
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.byteLength;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function isAllZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}

/** Zero-pads (or truncates) `bytes` to exactly `length`. */
export function fitBytes(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(bytes.subarray(0, length));
  return out;
}

/** A fixed-capacity ring of the last bytes written, for stderr / console tails in error messages. */
export class ByteRing {
  readonly #buf: Uint8Array;
  #len = 0;
  #start = 0;
  constructor(capacity: number) {
    this.#buf = new Uint8Array(capacity);
  }
  push(chunk: Uint8Array): void {
    const cap = this.#buf.length;
    if (chunk.length >= cap) {
      this.#buf.set(chunk.subarray(chunk.length - cap));
      this.#start = 0;
      this.#len = cap;
      return;
    }
    for (const b of chunk) {
      const end = (this.#start + this.#len) % cap;
      this.#buf[end] = b;
      if (this.#len < cap) this.#len++;
      else this.#start = (this.#start + 1) % cap;
    }
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#len);
    for (let i = 0; i < this.#len; i++)
      out[i] = this.#buf[(this.#start + i) % this.#buf.length] ?? 0;
    return out;
  }
  text(): string {
    return Buffer.from(this.bytes()).toString('utf8');
  }
  /** The last `n` lines. */
  lines(n: number): string[] {
    const all = this.text()
      .split(/\r?\n/)
      .filter((l) => l.length > 0);
    return all.slice(-n);
  }
}
