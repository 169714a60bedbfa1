import { isAllZero, toHex } from '#src/lib/index.js';
import type { TdxQuote } from '#src/tee/index.js';
import type { Claims } from '../verifier.js';
import type { CcelClaims } from './ccel-claims.js';
import type { TdxTcbEvaluation } from './tcb-status.js';

/** TD_ATTRIBUTES bits Trustee names (u64 little-endian). */
const TD_ATTRIBUTE_BITS = {
  debug: 0,
  septve_disable: 28,
  protection_keys: 30,
  key_locker: 31,
  perfmon: 63,
} as const;

function tdAttributes(raw: Uint8Array): Record<string, boolean> {
  const v = Buffer.from(raw).readBigUInt64LE(0);
  const out: Record<string, boolean> = {};
  for (const [name, bit] of Object.entries(TD_ATTRIBUTE_BITS))
    out[name] = ((v >> BigInt(bit)) & 1n) === 1n;
  return out;
}

function u16le(v: number): string {
  return toHex(new Uint8Array([v & 0xff, v >> 8]));
}

function u32le(v: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return toHex(b);
}

/**
 * Trustee's TDX claims: `quote.header.*`, `quote.body.*` (lowercase hex in report byte order),
 * `quote.type`/`quote.size` for v5, `td_attributes`, `report_data`, `init_data` (MRCONFIGID, when
 * non-zero), `tcb_status`/`advisory_ids` when collateral was checked, and with a CC event log
 * `uefi_event_logs` (Trustee's current claim) and `ccel` (its earlier kernel/cmdline/initrd digests;
 * `{}` without a log).
 */
export function tdxClaims(
  quote: TdxQuote,
  tcb: TdxTcbEvaluation | undefined,
  ccel: CcelClaims | undefined,
): Claims {
  const h = quote.header;
  const b = quote.body;
  const header = {
    version: u16le(h.version),
    att_key_type: u16le(h.attKeyType),
    tee_type: u32le(h.teeType),
    reserved: toHex(h.reserved),
    vendor_id: toHex(h.qeVendorId),
    user_data: toHex(h.userData),
  };
  const body: Record<string, string> = {
    tcb_svn: toHex(b.teeTcbSvn),
    mr_seam: toHex(b.mrSeam),
    mrsigner_seam: toHex(b.mrSignerSeam),
    seam_attributes: toHex(b.seamAttributes),
    td_attributes: toHex(b.tdAttributes),
    xfam: toHex(b.xfam),
    mr_td: toHex(b.mrTd),
    mr_config_id: toHex(b.mrConfigId),
    mr_owner: toHex(b.mrOwner),
    mr_owner_config: toHex(b.mrOwnerConfig),
    rtmr_0: toHex(b.rtmr[0]),
    rtmr_1: toHex(b.rtmr[1]),
    rtmr_2: toHex(b.rtmr[2]),
    rtmr_3: toHex(b.rtmr[3]),
    report_data: toHex(b.reportData),
  };
  if (b.teeTcbSvn2) body['tee_tcb_svn2'] = toHex(b.teeTcbSvn2);
  if (b.mrServiceTd) body['mr_servicetd'] = toHex(b.mrServiceTd);
  const q: Record<string, unknown> = { header, body };
  if (h.version === 5) {
    q['type'] = u16le(quote.bodyType);
    q['size'] = u32le(quote.bodyType === 2 ? 584 : 648);
  }
  const claims: Record<string, unknown> = {
    quote: q,
    ccel: ccel?.ccel ?? {},
    td_attributes: tdAttributes(b.tdAttributes),
    report_data: toHex(b.reportData),
  };
  if (ccel) claims['uefi_event_logs'] = ccel.uefiEventLogs;
  if (!isAllZero(b.mrConfigId)) claims['init_data'] = toHex(b.mrConfigId);
  if (tcb) {
    claims['tcb_status'] = tcb.status;
    claims['advisory_ids'] = [...tcb.advisoryIds];
  }
  return claims;
}
