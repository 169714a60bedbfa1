/**
 * The uncompressed ELF kernel (vmlinux) inside a bzImage, for QEMU's PVH boot (`-kernel vmlinux`):
 * the guest then skips the bzImage decompressor, which costs about a second of CPU under TCG.
 * Pure: bytes in, bytes out. Supports the payload compressions Debian uses (lz4, gzip).
 */
import { gunzipSync } from 'node:zlib';
import { GuestBuildError } from './errors.js';

/** XEN_ELFNOTE_PHYS32_ENTRY: the 32-bit PVH entry point QEMU's PVH loader needs. */
const PVH_NOTE_TYPE = 18;
const LZ4_LEGACY_MAGIC = 0x184c2102;
/** Decompressed size of one lz4 legacy block (the format's fixed maximum). */
const LZ4_LEGACY_BLOCK = 8 << 20;
/** Larger vmlinux files are refused (Debian's is ~55 MB). */
const MAX_VMLINUX = 512 << 20;

export type PvhKernelResult =
  | { readonly kind: 'pvh'; readonly vmlinux: Uint8Array; readonly compression: string }
  | { readonly kind: 'unsupported'; readonly reason: string };

function bad(message: string): GuestBuildError {
  return new GuestBuildError('invalid_argument', 'ERR_GUEST_BUILD_KERNEL', `bzImage: ${message}`);
}

/** The compressed payload of a bzImage (boot protocol ≥ 2.08 names its offset and length). */
export function bzImagePayload(bz: Uint8Array): Uint8Array {
  const v = new DataView(bz.buffer, bz.byteOffset, bz.byteLength);
  if (bz.length < 0x250 || v.getUint32(0x202, true) !== 0x53726448) throw bad('no HdrS header');
  const version = v.getUint16(0x206, true);
  if (version < 0x208) throw bad(`boot protocol ${version.toString(16)} has no payload fields`);
  const setupSects = bz[0x1f1] === 0 ? 4 : (bz[0x1f1] ?? 4);
  const start = (setupSects + 1) * 512 + v.getUint32(0x248, true);
  const end = start + v.getUint32(0x24c, true);
  if (end > bz.length || end - start < 8) throw bad('payload outside the file');
  return bz.subarray(start, end);
}

/** Decodes one lz4 block into `out` at `op`; returns the new output position. */
function lz4Block(src: Uint8Array, ip: number, iend: number, out: Uint8Array, op: number): number {
  while (ip < iend) {
    const token = src[ip++] as number;
    let lit = token >>> 4;
    if (lit === 15) {
      let b = 255;
      while (b === 255 && ip < iend) lit += b = src[ip++] as number;
    }
    if (ip + lit > iend || op + lit > out.length) throw bad('lz4 literals past the end');
    if (lit > 32) out.set(src.subarray(ip, ip + lit), op);
    else for (let k = 0; k < lit; k++) out[op + k] = src[ip + k] as number;
    ip += lit;
    op += lit;
    if (ip >= iend) break; // the last sequence has literals only
    if (ip + 2 > iend) throw bad('lz4 match offset past the block');
    const offset = (src[ip] as number) | ((src[ip + 1] as number) << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw bad('lz4 match offset before the output');
    let len = token & 15;
    if (len === 15) {
      let b = 255;
      while (b === 255 && ip < iend) len += b = src[ip++] as number;
    }
    len += 4;
    if (op + len > out.length) throw bad('lz4 match past the end');
    if (len > 32 && offset >= len) out.copyWithin(op, op - offset, op - offset + len);
    // byte by byte: an overlapping match (offset < len) repeats the bytes just written
    else for (let k = 0; k < len; k++) out[op + k] = out[op + k - offset] as number;
    op += len;
  }
  return op;
}

/** lz4 legacy frames (`lz4 -l`, as the kernel build writes them) into exactly `size` bytes. */
export function lz4LegacyDecode(src: Uint8Array, size: number): Uint8Array {
  if (size > MAX_VMLINUX) throw bad(`decompressed size ${size} is too large`);
  const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const out = new Uint8Array(size);
  let ip = 0;
  let op = 0;
  while (ip + 4 <= src.length && op < size) {
    const n = v.getUint32(ip, true);
    ip += 4;
    if (n === LZ4_LEGACY_MAGIC) continue;
    if (n > src.length - ip) throw bad('lz4 block past the payload');
    const before = op;
    op = lz4Block(src, ip, ip + n, out, op);
    if (op - before > LZ4_LEGACY_BLOCK) throw bad('lz4 block larger than 8 MiB');
    ip += n;
  }
  if (op !== size) throw bad(`lz4 payload gave ${op} bytes, the header says ${size}`);
  return out;
}

/** True when `elf` is an x86-64 ELF with a Xen PVH entry note (QEMU can boot it directly). */
export function hasPvhEntry(elf: Uint8Array): boolean {
  if (elf.length < 64 || elf[0] !== 0x7f || elf[1] !== 0x45 || elf[2] !== 0x4c || elf[3] !== 0x46)
    return false;
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  if (elf[4] !== 2 || elf[5] !== 1 || v.getUint16(0x12, true) !== 0x3e) return false;
  const phoff = Number(v.getBigUint64(0x20, true));
  const phentsize = v.getUint16(0x36, true);
  const phnum = v.getUint16(0x38, true);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > elf.length) return false;
    if (v.getUint32(ph, true) !== 4) continue; // PT_NOTE
    const off = Number(v.getBigUint64(ph + 8, true));
    const end = off + Number(v.getBigUint64(ph + 32, true));
    if (end > elf.length) return false;
    for (let p = off; p + 12 <= end;) {
      const namesz = v.getUint32(p, true);
      const descsz = v.getUint32(p + 4, true);
      const type = v.getUint32(p + 8, true);
      const name = Buffer.from(elf.subarray(p + 12, p + 12 + namesz)).toString('latin1');
      if (name === 'Xen\0' && type === PVH_NOTE_TYPE) return true;
      p += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
    }
  }
  return false;
}

/**
 * The PVH-bootable vmlinux of `bzImage`, or why there is none (unknown compression, no PVH note).
 * Throws ERR_GUEST_BUILD_KERNEL for a malformed bzImage or a corrupt payload.
 */
export function extractPvhKernel(bzImage: Uint8Array): PvhKernelResult {
  const payload = bzImagePayload(bzImage);
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let vmlinux: Uint8Array;
  let compression: string;
  if (v.getUint32(0, true) === LZ4_LEGACY_MAGIC) {
    // the kernel build appends the decompressed size (u32 LE) to the lz4 stream
    const size = v.getUint32(payload.length - 4, true);
    vmlinux = lz4LegacyDecode(payload.subarray(0, payload.length - 4), size);
    compression = 'lz4';
  } else if (payload[0] === 0x1f && payload[1] === 0x8b) {
    try {
      vmlinux = gunzipSync(payload, { maxOutputLength: MAX_VMLINUX });
    } catch (err) {
      throw bad(`gzip payload: ${err instanceof Error ? err.message : String(err)}`);
    }
    compression = 'gzip';
  } else {
    const magic = Buffer.from(payload.subarray(0, 4)).toString('hex');
    return { kind: 'unsupported', reason: `payload compression with magic ${magic}` };
  }
  if (!hasPvhEntry(vmlinux))
    return { kind: 'unsupported', reason: 'the kernel has no PVH entry (CONFIG_PVH unset)' };
  return { kind: 'pvh', vmlinux, compression };
}
