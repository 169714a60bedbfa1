import { Transform, type TransformCallback } from 'node:stream';

const XATTR_PREFIX = 'SCHILY.xattr.';
/** Extended headers larger than this are refused (tar-stream would buffer them whole, too). */
export const MAX_PAX_HEADER = 1 << 20;

export type RawXattrs = ReadonlyMap<string, Uint8Array>;

/** What one PAX extended header says that the tar parser's UTF-8 decoding would lose or move. */
export interface PaxRecords {
  /** `SCHILY.xattr.<name>` values as raw bytes, by name. */
  readonly xattrs: Map<string, Uint8Array>;
  /** The `size` record, when present and a decimal number. */
  readonly size?: number | undefined;
}

/**
 * Parses a PAX extended header body: records `"<len> <key>=<value>\n"`, `len` counting the whole
 * record in bytes, so values are binary-safe. Returns undefined for a malformed body (bad or
 * overlong length, missing space, `=` or newline), which the caller treats as a corrupt layer.
 */
export function parsePaxRecords(body: Uint8Array): PaxRecords | undefined {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.length);
  const xattrs = new Map<string, Uint8Array>();
  let size: number | undefined;
  let off = 0;
  while (off < buf.length) {
    if (buf[off] === 0) break; // NUL padding after the last record
    const sp = buf.indexOf(0x20, off);
    if (sp <= off || sp - off > 8) return undefined;
    const digits = buf.toString('latin1', off, sp);
    if (!/^[1-9][0-9]*$/.test(digits)) return undefined;
    const len = Number(digits);
    const end = off + len;
    if (end > buf.length || end <= sp + 1 || buf[end - 1] !== 0x0a) return undefined;
    const eq = buf.indexOf(0x3d, sp + 1);
    if (eq < 0 || eq >= end - 1 || eq === sp + 1) return undefined;
    const key = buf.toString('utf8', sp + 1, eq);
    const value = buf.subarray(eq + 1, end - 1);
    if (key.startsWith(XATTR_PREFIX) && key.length > XATTR_PREFIX.length)
      xattrs.set(key.slice(XATTR_PREFIX.length), Uint8Array.from(value));
    else if (key === 'size') {
      const v = value.toString('latin1');
      size = /^[0-9]{1,15}$/.test(v) ? Number(v) : undefined;
    }
    off = end;
  }
  return { xattrs, size };
}

function octalOrBase256(field: Buffer): number | undefined {
  if ((field[0] ?? 0) & 0x80) {
    let v = 0;
    for (let i = 1; i < field.length; i++) v = v * 256 + (field[i] ?? 0);
    return Number.isSafeInteger(v) ? v : undefined;
  }
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/u, '')
    .trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined;
}

/**
 * A pass-through that reads the tar stream beside the real parser and queues, for each entry the
 * parser will emit, the raw xattr bytes of its PAX headers (global merged under local, the way
 * tar-stream merges them), or undefined. It only observes: bytes pass unchanged.
 */
export class PaxXattrTap extends Transform {
  readonly #queue: (RawXattrs | undefined)[] = [];
  #header = Buffer.alloc(0);
  #skip = 0;
  #collect: { type: string; parts: Buffer[]; left: number; pad: number } | undefined;
  #global = new Map<string, Uint8Array>();
  #globalSize: number | undefined;
  #pending: PaxRecords | undefined;
  #broken = '';

  /** The xattrs of the next emitted entry; throws a reason when the stream could not be followed. */
  next(): RawXattrs | undefined {
    if (this.#broken !== '') throw new Error(this.#broken);
    return this.#queue.shift();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.#broken === '') this.#consume(chunk);
    cb(null, chunk);
  }

  #consume(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && this.#broken === '') {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - off);
        this.#skip -= n;
        off += n;
      } else if (this.#collect) {
        const c = this.#collect;
        const n = Math.min(c.left, chunk.length - off);
        c.parts.push(chunk.subarray(off, off + n));
        c.left -= n;
        off += n;
        if (c.left === 0) {
          this.#collect = undefined;
          this.#skip = c.pad;
          this.#extended(c.type, Buffer.concat(c.parts));
        }
      } else {
        const n = Math.min(512 - this.#header.length, chunk.length - off);
        this.#header = Buffer.concat([this.#header, chunk.subarray(off, off + n)]);
        off += n;
        if (this.#header.length === 512) {
          const h = this.#header;
          this.#header = Buffer.alloc(0);
          this.#onHeader(h);
        }
      }
    }
  }

  #onHeader(h: Buffer): void {
    if (h.every((b) => b === 0)) return;
    const type = String.fromCharCode(h[156] ?? 0);
    let size = octalOrBase256(h.subarray(124, 136));
    if (size === undefined) {
      this.#broken = 'a tar header has an unreadable size';
      return;
    }
    const pad = (512 - (size % 512)) % 512;
    if (type === 'x' || type === 'g') {
      if (size > MAX_PAX_HEADER) {
        this.#broken = `a PAX header of ${size} bytes exceeds ${MAX_PAX_HEADER}`;
        return;
      }
      if (size === 0) this.#extended(type, Buffer.alloc(0));
      else this.#collect = { type, parts: [], left: size, pad };
      return;
    }
    if (type !== 'L' && type !== 'K') {
      const p = this.#pending;
      this.#pending = undefined;
      this.#queue.push(p ? p.xattrs : undefined);
      if (p?.size !== undefined) size = p.size;
    }
    this.#skip = size + ((512 - (size % 512)) % 512);
  }

  #extended(type: string, body: Buffer): void {
    const rec = parsePaxRecords(body);
    if (!rec) {
      this.#broken = 'a PAX extended header is malformed';
      return;
    }
    if (type === 'g') {
      for (const [k, v] of rec.xattrs) this.#global.set(k, v);
      if (rec.size !== undefined) this.#globalSize = rec.size;
      return;
    }
    // like tar-stream: a later local header replaces an earlier one; globals sit underneath
    this.#pending = {
      xattrs: new Map([...this.#global, ...rec.xattrs]),
      size: rec.size ?? this.#globalSize,
    };
  }
}
