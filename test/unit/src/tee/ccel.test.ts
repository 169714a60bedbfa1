import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { TeeError, encodeCcel, parseCcel, replayRtmrs } from '#src/tee/index.js';

const d = (v: number): Uint8Array => new Uint8Array(48).fill(v);

describe('CCEL', () => {
  const log = encodeCcel([
    { mrIndex: 1, eventType: 0x80000001, digest: d(1), data: new Uint8Array([1]) },
    { mrIndex: 4, eventType: 0xd, digest: d(2), data: new Uint8Array(0) },
    { mrIndex: 1, eventType: 0x3, digest: d(9), data: new Uint8Array(0) },
    { mrIndex: 1, eventType: 0x80000002, digest: d(3), data: new Uint8Array(2) },
  ]);

  test('replays SHA-384 digests into RTMR0..3, skipping EV_NO_ACTION', () => {
    const sha = (a: Uint8Array, b: Uint8Array): Uint8Array =>
      new Uint8Array(createHash('sha384').update(a).update(b).digest());
    const r = replayRtmrs(parseCcel(log));
    expect(r[0]).toEqual(sha(sha(new Uint8Array(48), d(1)), d(3)));
    expect(r[3]).toEqual(sha(new Uint8Array(48), d(2)));
    expect(r[1]).toEqual(new Uint8Array(48));
  });

  test('stops at 0xFF fill after the last event', () => {
    const padded = new Uint8Array(log.byteLength + 100).fill(0xff);
    padded.set(log);
    expect(parseCcel(padded).events).toHaveLength(4);
  });

  test('a truncation at every offset throws a TeeError or yields fewer events', () => {
    for (let cut = 0; cut < log.byteLength; cut++) {
      try {
        expect(parseCcel(log.subarray(0, cut)).events.length).toBeLessThan(4);
      } catch (err) {
        expect(err, `cut at ${cut}`).toBeInstanceOf(TeeError);
      }
    }
  });

  test('rejects a log without a Spec ID event', () => {
    const bad = log.slice();
    bad[32] = 0x41;
    expect(() => parseCcel(bad)).toThrow(/Spec ID Event03/);
  });
});
