import { createHash } from 'node:crypto';
import { equalBytes, toHex } from '#src/lib/index.js';
import {
  TPM_ALG_NAMES,
  TPM_ALG_SHA384,
  TeeError,
  ccelEventDetails,
  parseCcel,
  replayRtmrs,
  tcgEventTypeName,
  type Ccel,
  type CcelEvent,
  type CcelEventDetails,
  type TdxQuote,
} from '#src/tee/index.js';
import { denied, malformedInput } from '../errors.js';

/** One entry of Trustee's `uefi_event_logs` claim. */
export interface UefiEventLogEntry {
  readonly details: CcelEventDetails;
  /** Whether the SHA-384 digest is the hash of the event data (true for data-only events). */
  readonly digest_matches_event: boolean;
  readonly digests: readonly { readonly alg: string; readonly digest: string }[];
  /** The event data, standard base64. */
  readonly event: string;
  /** CC measurement register index: 0 = MRTD, 1..4 = RTMR0..3. */
  readonly index: number;
  readonly type_name: string;
}

export interface CcelClaims {
  readonly uefiEventLogs: readonly UefiEventLogEntry[];
  /** Trustee's earlier `ccel` claim: kernel / cmdline / initrd digests, td-shim kernel_parameters. */
  readonly ccel: Record<string, unknown>;
}

/** EDK2's QEMU kernel loader file system (the firmware's view of `-kernel`). */
const QEMU_KERNEL_LOADER_FS = 'VenMedia(1428F772-B64A-441E-B8C3-9EBDD7F893C7,';
const TD_SHIM_KERNEL = Buffer.concat([Buffer.from([11]), Buffer.from('td_payload\0', 'latin1')]);
const TD_SHIM_KERNEL_INFO = Buffer.from('td_payload_info\0', 'latin1');

function entryOf(ev: CcelEvent): UefiEventLogEntry {
  let details: CcelEventDetails;
  try {
    details = ccelEventDetails(ev.eventType, ev.data);
  } catch (err) {
    if (!(err instanceof TeeError)) throw err;
    details = {};
  }
  const sha384 = ev.digests.get(TPM_ALG_SHA384);
  return {
    details,
    digest_matches_event:
      sha384 !== undefined &&
      equalBytes(new Uint8Array(createHash('sha384').update(ev.data).digest()), sha384),
    digests: [...ev.digests].map(([alg, d]) => ({
      alg: TPM_ALG_NAMES[alg] ?? `0x${alg.toString(16).padStart(4, '0')}`,
      digest: toHex(d),
    })),
    event: Buffer.from(ev.data).toString('base64'),
    index: ev.mrIndex,
    type_name: tcgEventTypeName(ev.eventType),
  };
}

function startsWith(data: Uint8Array, prefix: Uint8Array): boolean {
  return (
    data.byteLength >= prefix.byteLength && equalBytes(data.subarray(0, prefix.byteLength), prefix)
  );
}

/** `console=hvc0 root=/dev/vda1 rw` → `{console: "hvc0", root: "/dev/vda1", rw: null}`. */
function kernelParameters(data: Uint8Array): Record<string, string | null> | undefined {
  if (data.byteLength < 20) return undefined;
  const length = Buffer.from(data).readUInt32LE(16);
  if (20 + length > data.byteLength) return undefined;
  const out: Record<string, string | null> = {};
  for (const item of Buffer.from(data.subarray(20, 20 + length))
    .toString('utf8')
    .split(/[ \n\r\0]/)) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq < 0) out[item] = null;
    else out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** The earlier Trustee `ccel` claim, from the first matching event of each kind. */
function legacyClaims(log: Ccel, entries: readonly UefiEventLogEntry[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const first = (e: UefiEventLogEntry): string | undefined => e.digests[0]?.digest;
  log.events.forEach((ev, i) => {
    const e = entries[i];
    if (!e) return;
    const paths = e.details.device_paths ?? [];
    if (
      out['kernel'] === undefined &&
      (startsWith(ev.data, TD_SHIM_KERNEL) ||
        (e.type_name === 'EV_EFI_BOOT_SERVICES_APPLICATION' &&
          paths.some((p) => p.startsWith(QEMU_KERNEL_LOADER_FS)) &&
          paths.includes('File(kernel)')))
    )
      out['kernel'] = first(e);
    if (e.type_name === 'EV_EVENT_TAG') {
      if (e.details.string === 'LOADED_IMAGE::LoadOptions') out['cmdline'] ??= first(e);
      if (e.details.string === 'Linux initrd') out['initrd'] ??= first(e);
    }
    if (out['kernel_parameters'] === undefined && startsWith(ev.data, TD_SHIM_KERNEL_INFO)) {
      const params = kernelParameters(ev.data);
      if (params) out['kernel_parameters'] = params;
    }
  });
  return out;
}

/**
 * The CC event log check (Trustee's `replay_and_match` over MR indices 1..4): the log parses, its
 * SHA-384 digests replayed from zero give exactly the quote's RTMR0..3, and its events become the
 * `uefi_event_logs` claim. Throws ERR_TDX_CCEL_MALFORMED or ERR_TDX_CCEL_RTMR_MISMATCH (naming the
 * register and both values).
 */
export function verifyCcel(quote: TdxQuote, raw: Uint8Array): CcelClaims {
  let log: Ccel;
  let rtmrs: Uint8Array[];
  try {
    log = parseCcel(raw);
    rtmrs = replayRtmrs(log);
  } catch (err) {
    if (err instanceof TeeError)
      throw malformedInput('ERR_TDX_CCEL_MALFORMED', `tdx cc event log: ${err.message}`, err);
    throw err;
  }
  rtmrs.forEach((v, i) => {
    const got = quote.body.rtmr[i as 0 | 1 | 2 | 3];
    if (!equalBytes(v, got))
      throw denied(
        'ERR_TDX_CCEL_RTMR_MISMATCH',
        `tdx cc event log check failed: replaying the log gives RTMR${String(i)} ${toHex(v)}, the quote has ${toHex(got)}`,
      );
  });
  const entries = log.events.map(entryOf);
  return { uefiEventLogs: entries, ccel: legacyClaims(log, entries) };
}
