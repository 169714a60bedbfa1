import { createHash } from 'node:crypto';
import { ByteReader } from './byte-reader.js';
import { TeeError } from './errors.js';

/**
 * The TDX CC event log (ACPI CCEL table data): a TCG crypto-agile event log whose "PCR index" is
 * the TDX measurement register index (0 = MRTD, 1..4 = RTMR0..3).
 */
export const TPM_ALG_SHA384 = 0x000c;
export const EV_NO_ACTION = 0x3;
/** Upper bound on events (hostile input guard). */
export const CCEL_MAX_EVENTS = 65536;

export interface CcelEvent {
  readonly mrIndex: number;
  readonly eventType: number;
  /** Digests by TPM algorithm id. */
  readonly digests: ReadonlyMap<number, Uint8Array>;
  readonly data: Uint8Array;
}

export interface Ccel {
  readonly algorithms: ReadonlyMap<number, number>;
  readonly events: readonly CcelEvent[];
}

function bad(message: string): TeeError {
  return new TeeError('invalid_argument', 'ERR_CCEL_MALFORMED', message);
}

function parseSpecIdEvent(data: Uint8Array): Map<number, number> {
  const r = new ByteReader(data, 'ccel spec id event');
  const sig = Buffer.from(r.bytes('signature', 16)).toString('latin1');
  if (!sig.startsWith('Spec ID Event03'))
    throw bad(`ccel: first event is not a "Spec ID Event03" (got ${JSON.stringify(sig)})`);
  r.skip('platform_class_and_version', 8);
  const n = r.u32('number_of_algorithms');
  if (n === 0 || n > 16) throw bad(`ccel: spec id event lists ${n} algorithms`);
  const algs = new Map<number, number>();
  for (let i = 0; i < n; i++)
    algs.set(r.u16(`algorithm[${i}].id`), r.u16(`algorithm[${i}].digest_size`));
  return algs;
}

/**
 * Parses a CCEL. Trailing 0xFF or 0x00 fill after the last event (as the firmware leaves the
 * table area) ends the log. Throws TeeError (ERR_CCEL_MALFORMED / ERR_TEE_TRUNCATED) on bad input.
 */
export function parseCcel(raw: Uint8Array): Ccel {
  const r = new ByteReader(raw, 'ccel');
  r.u32('header.mr_index');
  const type = r.u32('header.event_type');
  if (type !== EV_NO_ACTION)
    throw bad(`ccel: first event type is ${type}, expected EV_NO_ACTION (3)`);
  r.skip('header.digest', 20);
  const algorithms = parseSpecIdEvent(r.bytes('header.event', r.u32('header.event_size')));
  const events: CcelEvent[] = [];
  while (r.remaining >= 8) {
    const at = r.offset;
    const mrIndex = r.u32(`event@${at}.mr_index`);
    const eventType = r.u32(`event@${at}.event_type`);
    if ((mrIndex === 0xffffffff && eventType === 0xffffffff) || (mrIndex === 0 && eventType === 0))
      break;
    if (events.length >= CCEL_MAX_EVENTS) throw bad(`ccel: more than ${CCEL_MAX_EVENTS} events`);
    const count = r.u32(`event@${at}.digest_count`);
    if (count > algorithms.size)
      throw bad(
        `ccel: event at offset ${at} has ${count} digests, spec id lists ${algorithms.size}`,
      );
    const digests = new Map<number, Uint8Array>();
    for (let i = 0; i < count; i++) {
      const alg = r.u16(`event@${at}.digest[${i}].alg`);
      const size = algorithms.get(alg);
      if (size === undefined)
        throw bad(
          `ccel: event at offset ${at} uses algorithm 0x${alg.toString(16)} not in the spec id event`,
        );
      digests.set(alg, r.bytes(`event@${at}.digest[${i}]`, size));
    }
    const data = r.bytes(`event@${at}.data`, r.u32(`event@${at}.event_size`));
    events.push({ mrIndex, eventType, digests, data });
  }
  return { algorithms, events };
}

/** Replays the SHA-384 digests into RTMR0..3 (MR index 1..4), starting from zero. */
export function replayRtmrs(ccel: Ccel): [Uint8Array, Uint8Array, Uint8Array, Uint8Array] {
  const rtmr: [Uint8Array, Uint8Array, Uint8Array, Uint8Array] = [
    new Uint8Array(48),
    new Uint8Array(48),
    new Uint8Array(48),
    new Uint8Array(48),
  ];
  for (const ev of ccel.events) {
    if (ev.eventType === EV_NO_ACTION || ev.mrIndex < 1 || ev.mrIndex > 4) continue;
    const digest = ev.digests.get(TPM_ALG_SHA384);
    if (!digest) throw bad(`ccel: event for MR ${ev.mrIndex} has no SHA-384 digest`);
    const i = ev.mrIndex - 1;
    rtmr[i] = new Uint8Array(
      createHash('sha384')
        .update(rtmr[i] ?? new Uint8Array(48))
        .update(digest)
        .digest(),
    );
  }
  return rtmr;
}

/** Builds a CCEL (spec id header + events with SHA-384 digests); the guest attester's form. */
export function encodeCcel(
  events: readonly {
    readonly mrIndex: number;
    readonly eventType: number;
    readonly digest: Uint8Array;
    readonly data: Uint8Array;
  }[],
): Uint8Array {
  const parts: Buffer[] = [];
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  const spec = Buffer.concat([
    Buffer.from('Spec ID Event03\0', 'latin1'),
    Buffer.alloc(8),
    u32(1),
    Buffer.from([0x0c, 0x00, 48, 0]),
    Buffer.from([0]),
  ]);
  parts.push(u32(0), u32(EV_NO_ACTION), Buffer.alloc(20), u32(spec.length), spec);
  for (const e of events) {
    parts.push(
      u32(e.mrIndex),
      u32(e.eventType),
      u32(1),
      Buffer.from([0x0c, 0x00]),
      Buffer.from(e.digest),
      u32(e.data.byteLength),
      Buffer.from(e.data),
    );
  }
  return new Uint8Array(Buffer.concat(parts));
}
