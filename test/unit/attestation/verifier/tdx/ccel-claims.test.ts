// CC event log replay and claims, with logs built here from known digests (the shared testdata has
// no CCEL; see its README) in the TCG PC Client crypto-agile format, written independently of
// src/tee/ccel.ts: SHA-256 and SHA-384 digests per event, as OVMF/TDVF writes them.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { verifyCcel } from '#attestation/verifier/tdx/ccel-claims.js';
import { createVerifier } from '#attestation/verifier/index.js';
import type { TdxQuote } from '#src/tee/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const u64 = (v: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};
const u16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};
const sha = (alg: string, ...parts: Uint8Array[]): Buffer => {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return h.digest();
};
const utf16z = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf16le');

interface Ev {
  readonly mr: number;
  readonly type: number;
  readonly data: Buffer;
  /** What was measured (default: the event data). */
  readonly measured?: Buffer;
}

/** TCG_PCR_EVENT (Spec ID Event03, SHA-256 + SHA-384) then TCG_PCR_EVENT2 records. */
function encodeLog(events: readonly Ev[], tamper?: (i: number, d384: Buffer) => Buffer): Buffer {
  const spec = Buffer.concat([
    Buffer.from('Spec ID Event03\0', 'latin1'),
    u32(0), // platform class
    Buffer.from([0, 2, 2, 2]), // spec version minor, major, errata, uintn size
    u32(2),
    u16(0x000b),
    u16(32),
    u16(0x000c),
    u16(48),
    Buffer.from([0]),
  ]);
  const parts = [u32(0), u32(3), Buffer.alloc(20), u32(spec.length), spec];
  events.forEach((e, i) => {
    const m = e.measured ?? e.data;
    const d384 = sha('sha384', m);
    parts.push(
      u32(e.mr),
      u32(e.type),
      u32(2),
      u16(0x000b),
      sha('sha256', m),
      u16(0x000c),
      tamper ? tamper(i, d384) : d384,
      u32(e.data.length),
      e.data,
    );
  });
  return Buffer.concat(parts);
}

function replay(events: readonly Ev[]): Buffer[] {
  const r: Buffer[] = [0, 1, 2, 3].map(() => Buffer.alloc(48));
  for (const e of events)
    if (e.mr >= 1 && e.mr <= 4 && e.type !== 3)
      r[e.mr - 1] = sha(
        'sha384',
        r[e.mr - 1] ?? Buffer.alloc(48),
        sha('sha384', e.measured ?? e.data),
      );
  return r;
}

const GLOBAL_VARIABLE = Buffer.from('61dfe48bca93d211aa0d00e098032b8c', 'hex');
const QEMU_KERNEL_FS = Buffer.from('72f728144ab61e44b8c39ebdd7f893c7', 'hex');
const variable = (name: string, value: Buffer): Buffer =>
  Buffer.concat([
    GLOBAL_VARIABLE,
    u64(name.length),
    u64(value.length),
    Buffer.from(name, 'utf16le'),
    value,
  ]);
const kernelPath = Buffer.concat([
  Buffer.from([4, 3]),
  u16(20),
  QEMU_KERNEL_FS,
  Buffer.from([4, 4]),
  u16(4 + utf16z('kernel').length),
  utf16z('kernel'),
  Buffer.from([0x7f, 0xff]),
  u16(4),
]);
const imageLoad = Buffer.concat([
  u64(0x7cb30000),
  u64(0xa5a200),
  u64(0),
  u64(kernelPath.length),
  kernelPath,
]);
const tagged = (id: number, s: string): Buffer =>
  Buffer.concat([u32(id), u32(s.length + 1), Buffer.from(`${s}\0`, 'latin1')]);
const KERNEL_IMAGE = Buffer.from('the kernel image bytes');
const CMDLINE = Buffer.from('console=hvc0 root=/dev/vda1 rw\0', 'utf16le');
const INITRD = Buffer.from('the initrd');

/** An OVMF direct-boot log: RTMR0 firmware config, RTMR1 kernel, RTMR2 cmdline + initrd. */
const OVMF: readonly Ev[] = [
  { mr: 0, type: 3, data: Buffer.from('StartupLocality\0\x03', 'latin1') },
  {
    mr: 1,
    type: 0x8000000b,
    data: Buffer.concat([Buffer.from([8]), Buffer.from('TdxTable'), u64(1), Buffer.alloc(16)]),
  },
  { mr: 1, type: 0x80000001, data: variable('SecureBoot', Buffer.from([0])) },
  { mr: 1, type: 0x4, data: Buffer.alloc(4) },
  { mr: 1, type: 0xa, data: Buffer.from('ACPI DATA') },
  { mr: 2, type: 0x80000003, data: imageLoad, measured: KERNEL_IMAGE },
  { mr: 2, type: 0x80000007, data: Buffer.from('Calling EFI Application from Boot Option') },
  { mr: 3, type: 0x6, data: tagged(0x8f3b22ed, 'LOADED_IMAGE::LoadOptions'), measured: CMDLINE },
  { mr: 3, type: 0x6, data: tagged(0x8f3b22ec, 'Linux initrd'), measured: INITRD },
];

const quoteWith = (rtmr: readonly Buffer[]): TdxQuote =>
  ({ body: { rtmr: rtmr.map((b) => new Uint8Array(b)) } }) as unknown as TdxQuote;

describe('CC event log replay (verifyCcel)', () => {
  const log = encodeLog(OVMF);
  const good = quoteWith(replay(OVMF));

  test('a log whose replay equals RTMR0..3 passes and becomes Trustee-shaped claims', () => {
    const c = verifyCcel(good, new Uint8Array(log));
    expect(c.uefiEventLogs.map((e) => [e.index, e.type_name])).toEqual([
      [0, 'EV_NO_ACTION'],
      [1, 'EV_EFI_HANDOFF_TABLES2'],
      [1, 'EV_EFI_VARIABLE_DRIVER_CONFIG'],
      [1, 'EV_SEPARATOR'],
      [1, 'EV_PLATFORM_CONFIG_FLAGS'],
      [2, 'EV_EFI_BOOT_SERVICES_APPLICATION'],
      [2, 'EV_EFI_ACTION'],
      [3, 'EV_EVENT_TAG'],
      [3, 'EV_EVENT_TAG'],
    ]);
    const [, handoff, sb, sep, acpi, kernel, action, cmdline] = c.uefiEventLogs;
    expect(handoff?.details).toEqual({ string: 'TdxTable' });
    expect(sb?.details).toEqual({
      unicode_name: 'SecureBoot',
      unicode_name_length: 10,
      variable_data: 'AA==',
      variable_data_length: 1,
      variable_name: '61dfe48b-ca93-d211-aa0d-00e098032b8c',
    });
    expect(sep?.details).toEqual({});
    expect(acpi?.details).toEqual({ string: 'ACPI DATA' });
    expect(kernel?.details).toEqual({
      device_paths: ['VenMedia(1428F772-B64A-441E-B8C3-9EBDD7F893C7,)', 'File(kernel)'],
    });
    expect(action?.details).toEqual({ string: 'Calling EFI Application from Boot Option' });
    expect(cmdline?.details).toEqual({ string: 'LOADED_IMAGE::LoadOptions' });
    expect(kernel?.digests).toEqual([
      { alg: 'SHA-256', digest: sha('sha256', KERNEL_IMAGE).toString('hex') },
      { alg: 'SHA-384', digest: sha('sha384', KERNEL_IMAGE).toString('hex') },
    ]);
    expect(kernel?.event).toBe(imageLoad.toString('base64'));
    expect(kernel?.digest_matches_event).toBe(false);
    expect(action?.digest_matches_event).toBe(true);
    expect(c.ccel).toEqual({
      kernel: sha('sha256', KERNEL_IMAGE).toString('hex'),
      cmdline: sha('sha256', CMDLINE).toString('hex'),
      initrd: sha('sha256', INITRD).toString('hex'),
    });
  });

  test('a tampered digest, a dropped, reordered or injected event fails naming the RTMR', () => {
    const bad = (l: Buffer, rtmr: number): void => {
      expect(() => verifyCcel(good, new Uint8Array(l))).toThrow(
        expect.objectContaining({
          code: 'ERR_TDX_CCEL_RTMR_MISMATCH',
          message: expect.stringContaining(`RTMR${String(rtmr)} `) as unknown,
        }),
      );
    };
    bad(
      encodeLog(OVMF, (i, d) => (i === 5 ? Buffer.from(d).fill(0, 0, 1) : d)),
      1,
    );
    bad(encodeLog(OVMF.filter((_, i) => i !== 7)), 2);
    bad(encodeLog([...OVMF.slice(0, 7), OVMF[8]!, OVMF[7]!]), 2);
    bad(encodeLog([...OVMF, { mr: 4, type: 0xd, data: Buffer.from('grub_cmd: linux /evil') }]), 3);
    bad(encodeLog([...OVMF, { mr: 1, type: 0x80000007, data: Buffer.from('injected') }]), 0);
  });

  test('changing event data that is not what was measured keeps the replay but is visible', () => {
    const other = OVMF.map((e, i) =>
      i === 6 ? { ...e, measured: e.data, data: Buffer.from('Calling Something Else') } : e,
    );
    const c = verifyCcel(good, new Uint8Array(encodeLog(other)));
    expect(c.uefiEventLogs[6]?.digest_matches_event).toBe(false);
  });

  test('a truncated or garbled log fails as malformed, never with a crash', () => {
    for (let cut = 1; cut < log.length; cut += 13) {
      try {
        verifyCcel(good, new Uint8Array(log.subarray(0, cut)));
      } catch (err) {
        expect((err as { code?: string }).code, `cut at ${String(cut)}`).toMatch(
          /^ERR_TDX_CCEL_(MALFORMED|RTMR_MISMATCH)$/,
        );
      }
    }
    const noSpec = Buffer.from(log);
    noSpec.write('Garbage', 32, 'latin1');
    expect(() => verifyCcel(good, new Uint8Array(noSpec))).toThrow(
      expect.objectContaining({ code: 'ERR_TDX_CCEL_MALFORMED' }),
    );
  });

  test('td-shim kernel and kernel parameters events give the ccel kernel and kernel_parameters claims', () => {
    const params = Buffer.from('console=hvc0 root=/dev/vda1 rw');
    const shim: Ev[] = [
      {
        mr: 2,
        type: 0x8000000a,
        data: Buffer.concat([Buffer.from([11]), Buffer.from('td_payload\0'), u64(0), u64(0)]),
        measured: KERNEL_IMAGE,
      },
      {
        mr: 2,
        type: 0x80000001,
        data: Buffer.concat([Buffer.from('td_payload_info\0'), u32(params.length), params]),
        measured: params,
      },
    ];
    const c = verifyCcel(quoteWith(replay(shim)), new Uint8Array(encodeLog(shim)));
    expect(c.ccel).toEqual({
      kernel: sha('sha256', KERNEL_IMAGE).toString('hex'),
      kernel_parameters: { console: 'hvc0', root: '/dev/vda1', rw: null },
    });
  });
});

const AZURE = join(
  PROJECT_ROOT,
  '..',
  'shared',
  'testdata',
  'evidence',
  'tdx',
  'trustee_azure_00806f05_v4',
);
const HAVE = existsSync(AZURE);
if (!HAVE) console.log(`skipping CCEL tests on a genuine quote: ${AZURE} is missing`);

describe.skipIf(!HAVE)('CC event log with a genuine quote (all RTMRs zero)', () => {
  const quote = (): string => readFileSync(join(AZURE, 'quote.bin')).toString('base64');
  const verifier = createVerifier('tdx');

  test('a log with only MRTD-time events verifies and its events are claims', async () => {
    const log = encodeLog(OVMF.filter((e) => e.mr === 0)).toString('base64');
    const claims = await verifier.verify({ cc_eventlog: log, quote: quote() }, {});
    expect(claims['uefi_event_logs']).toHaveLength(1);
    expect(claims['ccel']).toEqual({});
  });

  test('the same quote with a kernel event in the log fails ERR_TDX_CCEL_RTMR_MISMATCH', async () => {
    await expect(
      verifier.verify({ cc_eventlog: encodeLog(OVMF).toString('base64'), quote: quote() }, {}),
    ).rejects.toMatchObject({
      code: 'ERR_TDX_CCEL_RTMR_MISMATCH',
      message: expect.stringMatching(/RTMR0 [0-9a-f]{96}, the quote has 0{96}/) as unknown,
    });
  });
});
