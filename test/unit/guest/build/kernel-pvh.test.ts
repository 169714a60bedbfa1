import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import {
  bzImagePayload,
  extractPvhKernel,
  hasPvhEntry,
  lz4LegacyDecode,
} from '#guest/build/kernel-pvh.js';
import { GuestBuildError } from '#guest/build/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

/** A minimal x86-64 ELF with one PT_NOTE segment holding one note. */
function elf(noteName: string, noteType: number, tail = 0): Uint8Array {
  const name = Buffer.from(noteName, 'latin1');
  const namePadded = Math.ceil(name.length / 4) * 4;
  const noteSize = 12 + namePadded + 4;
  const out = Buffer.alloc(64 + 56 + noteSize + tail, 0x5a);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  out.writeUInt16LE(0x3e, 0x12);
  out.writeBigUInt64LE(64n, 0x20); // e_phoff
  out.writeUInt16LE(56, 0x36);
  out.writeUInt16LE(1, 0x38);
  out.writeUInt32LE(4, 64); // PT_NOTE
  out.writeBigUInt64LE(120n, 64 + 8);
  out.writeBigUInt64LE(BigInt(noteSize), 64 + 32);
  out.writeUInt32LE(name.length, 120);
  out.writeUInt32LE(4, 124);
  out.writeUInt32LE(noteType, 128);
  out.fill(0, 132, 132 + namePadded);
  out.set(name, 132);
  return out;
}

function lz4Len(n: number): number[] {
  const out: number[] = [];
  for (n -= 15; n >= 255; n -= 255) out.push(255);
  out.push(n);
  return out;
}

/**
 * One lz4 block for `data` whose last `repeat` bytes (before 5 trailing literals) repeat the two
 * bytes before them: literals, an overlapping match at offset 2, then literals only.
 */
function lz4Block(data: Uint8Array, repeat: number): Uint8Array {
  const litEnd = data.length - repeat - 5;
  const lit = data.subarray(0, litEnd);
  const m = repeat - 4;
  const token = (Math.min(lit.length, 15) << 4) | Math.min(m, 15);
  const bytes = [token, ...(lit.length >= 15 ? lz4Len(lit.length) : []), ...lit, 2, 0];
  if (m >= 15) bytes.push(...lz4Len(m));
  bytes.push(5 << 4, ...data.subarray(data.length - 5));
  return Uint8Array.from(bytes);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** A bzImage shell (boot protocol 2.15, one setup sector) around `payload`. */
function bzImage(payload: Uint8Array): Uint8Array {
  const head = Buffer.alloc(1024);
  head[0x1f1] = 1;
  head.write('HdrS', 0x202, 'latin1');
  head.writeUInt16LE(0x20f, 0x206);
  head.writeUInt32LE(0, 0x248);
  head.writeUInt32LE(payload.length, 0x24c);
  return Buffer.concat([head, payload]);
}

/** A vmlinux whose end is the pattern "ab" repeated, and its lz4 legacy bzImage. */
function lz4Kernel(e = elf('Xen\0', 18)): { vmlinux: Uint8Array; bz: Uint8Array } {
  const repeat = 700;
  const tail = 'ab'.repeat(repeat).slice(0, 2 + repeat + 5); // 2 literals, the match, 5 literals
  const vmlinux = Buffer.concat([e, Buffer.from(tail, 'latin1')]);
  const block = lz4Block(vmlinux, repeat);
  const payload = Buffer.concat([u32(0x184c2102), u32(block.length), block, u32(vmlinux.length)]);
  return { vmlinux, bz: bzImage(payload) };
}

describe('extractPvhKernel', () => {
  test('gives the exact vmlinux of an lz4 bzImage (overlapping matches, long lengths)', () => {
    const { vmlinux, bz } = lz4Kernel();
    const r = extractPvhKernel(bz);
    expect(r.kind).toBe('pvh');
    if (r.kind !== 'pvh') return;
    expect(r.compression).toBe('lz4');
    expect(Buffer.from(r.vmlinux).equals(Buffer.from(vmlinux))).toBe(true);
  });

  test('gives the vmlinux of a gzip bzImage', () => {
    const vmlinux = elf('Xen\0', 18, 4096);
    const r = extractPvhKernel(bzImage(gzipSync(vmlinux)));
    expect(r).toMatchObject({ kind: 'pvh', compression: 'gzip' });
  });

  test.each([
    ['an xz payload', bzImage(Buffer.from('fd377a585a000000deadbeef', 'hex')), /magic fd377a58/],
    ['a kernel without a PVH note', lz4Kernel(elf('Xen\0', 17)).bz, /no PVH entry/],
    ['a note of another owner', lz4Kernel(elf('GNU\0', 18)).bz, /no PVH entry/],
  ])('reports %s as unsupported', (_what, bz, reason) => {
    const r = extractPvhKernel(bz);
    expect(r.kind).toBe('unsupported');
    if (r.kind === 'unsupported') expect(r.reason).toMatch(reason);
  });

  test('refuses a file that is not a bzImage, or whose payload lies outside it', () => {
    expect(() => bzImagePayload(Buffer.alloc(4096))).toThrow(/no HdrS header/);
    const bz = Buffer.from(lz4Kernel().bz);
    bz.writeUInt32LE(1 << 30, 0x24c);
    expect(() => bzImagePayload(bz)).toThrow(/payload outside the file/);
    const old = Buffer.from(lz4Kernel().bz);
    old.writeUInt16LE(0x206, 0x206);
    expect(() => bzImagePayload(old)).toThrow(/boot protocol 206/);
  });

  test('a truncated or corrupted payload throws ERR_GUEST_BUILD_KERNEL, never anything else', () => {
    const { bz } = lz4Kernel();
    const payload = bzImagePayload(bz);
    for (let cut = 8; cut < payload.length; cut++) {
      const shorter = Buffer.from(bzImage(payload.subarray(0, cut)));
      try {
        extractPvhKernel(shorter);
      } catch (err) {
        expect(err, `cut at ${cut}`).toBeInstanceOf(GuestBuildError);
        expect((err as GuestBuildError).code).toBe('ERR_GUEST_BUILD_KERNEL');
      }
    }
    for (let at = 8; at < payload.length - 4; at++) {
      const flipped = Buffer.from(payload);
      flipped[at] = (flipped[at] ?? 0) ^ 0xff;
      try {
        extractPvhKernel(bzImage(flipped));
      } catch (err) {
        expect(err, `byte ${at} flipped`).toBeInstanceOf(GuestBuildError);
      }
    }
  });

  test('lz4LegacyDecode refuses a match before the start and a size that does not match', () => {
    const before = Uint8Array.from([0x10, 0x41, 9, 0, 0x50, 1, 2, 3, 4, 5]);
    expect(() => lz4LegacyDecode(Buffer.concat([u32(before.length), before]), 11)).toThrow(
      /offset before the output/,
    );
    const lits = Uint8Array.from([0x30, 1, 2, 3]);
    expect(() => lz4LegacyDecode(Buffer.concat([u32(4), lits]), 4)).toThrow(/gave 3 bytes/);
    expect(lz4LegacyDecode(Buffer.concat([u32(4), lits]), 3)).toEqual(Uint8Array.from([1, 2, 3]));
  });

  test('hasPvhEntry is false for non-ELF input and headers that point past the end', () => {
    expect(hasPvhEntry(Buffer.from('not an elf at all, but long enough'.repeat(3)))).toBe(false);
    const e = Buffer.from(elf('Xen\0', 18));
    expect(hasPvhEntry(e)).toBe(true);
    e.writeBigUInt64LE(1n << 40n, 64 + 32);
    expect(hasPvhEntry(e)).toBe(false);
  });
});

const kernelRoot = join(PROJECT_ROOT, '.cache', 'guest', 'kernel');
const cached = existsSync(kernelRoot)
  ? readdirSync(kernelRoot)
      .map((d) => join(kernelRoot, d, 'boot'))
      .filter((d) => existsSync(d))
      .flatMap((d) => readdirSync(d).map((f) => join(d, f)))
      .find((f) => /\/vmlinuz-/.test(f))
  : undefined;
if (cached === undefined)
  console.log(`skipping the Debian kernel case: no kernel extracted under ${kernelRoot} yet`);

describe.skipIf(cached === undefined)('the Debian cloud kernel', () => {
  test('yields a PVH-bootable vmlinux', () => {
    const r = extractPvhKernel(readFileSync(cached ?? ''));
    expect(r.kind).toBe('pvh');
    if (r.kind === 'pvh') expect(r.vmlinux.length).toBeGreaterThan(10 << 20);
  });
});
