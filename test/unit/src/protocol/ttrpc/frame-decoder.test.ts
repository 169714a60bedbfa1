import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  encodeFrame,
  FrameDecoder,
  TTRPC_HEADER_LENGTH,
  TTRPC_MAX_MESSAGE,
} from '#src/protocol/ttrpc/index.js';
import type { Frame } from '#src/protocol/ttrpc/index.js';

function header(length: number, streamId: number, type: number, flags: number): Buffer {
  const h = Buffer.alloc(TTRPC_HEADER_LENGTH);
  h.writeUInt32BE(length, 0);
  h.writeUInt32BE(streamId, 4);
  h[8] = type;
  h[9] = flags;
  return h;
}

function plain(frames: Frame[]): unknown[] {
  return frames.map((f) => ({
    streamId: f.streamId,
    type: f.type,
    flags: f.flags,
    payload: Buffer.from(f.payload).toString('hex'),
    discardedLength: f.discardedLength,
  }));
}

const WIRE = Buffer.concat([
  encodeFrame({ streamId: 1, type: 'request', flags: 0, payload: Buffer.from('ab') }),
  encodeFrame({ streamId: 3, type: 'request', flags: 2, payload: Buffer.alloc(0) }),
  encodeFrame({ streamId: 3, type: 'data', flags: 5, payload: Buffer.alloc(0) }),
  encodeFrame({ streamId: 0xfffffffd, type: 'response', flags: 0, payload: Buffer.alloc(300, 7) }),
]);

describe('FrameDecoder', () => {
  test('decodes a header followed by its data', () => {
    const frames = new FrameDecoder().push(Buffer.concat([header(3, 5, 2, 0), Buffer.from('xyz')]));
    expect(plain(frames)).toEqual([
      { streamId: 5, type: 2, flags: 0, payload: '78797a', discardedLength: undefined },
    ]);
  });

  test('yields the same frames however the bytes are split in two', () => {
    const whole = plain(new FrameDecoder().push(WIRE));
    expect(whole).toHaveLength(4);
    for (let cut = 0; cut <= WIRE.length; cut++) {
      const d = new FrameDecoder();
      const frames = [...d.push(WIRE.subarray(0, cut)), ...d.push(WIRE.subarray(cut))];
      expect(plain(frames), `cut at ${cut}`).toEqual(whole);
    }
  });

  test('yields the same frames when fed one byte at a time', () => {
    const d = new FrameDecoder();
    const frames: Frame[] = [];
    for (const byte of WIRE) frames.push(...d.push(Uint8Array.of(byte)));
    expect(plain(frames)).toEqual(plain(new FrameDecoder().push(WIRE)));
    expect(d.bufferedBytes).toBe(0);
  });

  test('keeps a truncated frame pending without yielding it', () => {
    const d = new FrameDecoder();
    expect(d.push(WIRE.subarray(0, WIRE.length - 1))).toHaveLength(3);
    expect(d.bufferedBytes).toBe(TTRPC_HEADER_LENGTH + 299);
  });

  test('rejects an oversized length before buffering the body', () => {
    const d = new FrameDecoder();
    expect(() => d.push(header(TTRPC_MAX_MESSAGE + 1, 1, 1, 0))).toThrow(
      expect.objectContaining({ code: 'ERR_TTRPC_MESSAGE_TOO_LARGE', kind: 'resource_exhausted' }),
    );
    expect(d.bufferedBytes).toBe(0);
    expect(() => d.push(Buffer.alloc(1))).toThrow(/exceed maximum message size/);
  });

  test('rejects an oversized header split across chunks without buffering more than the header', () => {
    const d = new FrameDecoder();
    const h = header(0xffffffff, 1, 1, 0);
    expect(d.push(h.subarray(0, 4))).toEqual([]);
    expect(() => d.push(h.subarray(4))).toThrow(
      expect.objectContaining({ kind: 'resource_exhausted' }),
    );
  });

  test('accepts a frame of exactly the limit', () => {
    const d = new FrameDecoder({ maxMessage: 16 });
    const frames = d.push(Buffer.concat([header(16, 1, 3, 0), Buffer.alloc(16)]));
    expect(frames[0]?.payload).toHaveLength(16);
  });

  test('in discard mode skips an oversized body and reports it, then keeps decoding', () => {
    const big = Buffer.concat([header(40, 7, 1, 0), Buffer.alloc(40, 1)]);
    const next = encodeFrame({
      streamId: 9,
      type: 'request',
      flags: 0,
      payload: Buffer.from('ok'),
    });
    const wire = Buffer.concat([big, next]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const d = new FrameDecoder({ maxMessage: 16, oversized: 'discard' });
      const frames = [...d.push(wire.subarray(0, cut)), ...d.push(wire.subarray(cut))];
      expect(plain(frames), `cut at ${cut}`).toEqual([
        { streamId: 7, type: 1, flags: 0, payload: '', discardedLength: 40 },
        { streamId: 9, type: 1, flags: 0, payload: '6f6b', discardedLength: undefined },
      ]);
      expect(d.bufferedBytes).toBe(0);
    }
  });

  test('decodes any sequence of frames under any chunking (property)', () => {
    const frameArb = fc.record({
      streamId: fc.integer({ min: 0, max: 0xffffffff }),
      type: fc.integer({ min: 0, max: 255 }),
      flags: fc.integer({ min: 0, max: 255 }),
      payload: fc.uint8Array({ maxLength: 64 }),
    });
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (frames, cuts) => {
          const wire = Buffer.concat(frames.map((f) => encodeFrame(f)));
          const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
          const d = new FrameDecoder();
          const out: Frame[] = [];
          let last = 0;
          for (const p of [...points, wire.length]) {
            out.push(...d.push(wire.subarray(last, p)));
            last = p;
          }
          expect(
            out.map((f) => ({ ...f, payload: Buffer.from(f.payload).toString('hex') })),
          ).toEqual(frames.map((f) => ({ ...f, payload: Buffer.from(f.payload).toString('hex') })));
        },
      ),
    );
  });
});
