import { iowr } from '#native/index.js';
import { AttesterError } from './errors.js';
import { ioctlKind } from './sev-guest-ioctl.js';
import { errnoOf, type TeeDevice } from './tee-device.js';

// <linux/tdx-guest.h> (not in Debian 12's linux-libc-dev 6.1; the kernel-abi test computes it
// with <linux/ioctl.h>'s _IOWR over the kernel's struct layout)
export const TDX_REPORTDATA_LEN = 64;
export const TDX_REPORT_LEN = 1024;
/** `struct tdx_report_req { __u8 reportdata[64]; __u8 tdreport[1024]; }`. */
export const TDX_REPORT_REQ_SIZE = TDX_REPORTDATA_LEN + TDX_REPORT_LEN;
export const TDX_CMD_GET_REPORT0 = iowr(0x54, 0x1, TDX_REPORT_REQ_SIZE);

/** TDREPORT_STRUCT offsets (TDX module ABI; the kernel's tdx-guest.c measurement table). */
export const TDREPORT_OFFSETS = {
  reportData: 128,
  mrConfigId: 512 + 16 + 48,
  rtmr0: 512 + 16 + 4 * 48,
} as const;

/** One TDREPORT (1024 bytes, MAC-protected, only meaningful to the QE) for 64 bytes of report data. */
export async function requestTdReport(
  device: TeeDevice,
  path: string,
  reportData: Uint8Array,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  if (reportData.length !== TDX_REPORTDATA_LEN)
    throw new AttesterError(
      'invalid_argument',
      'ERR_ATTESTER_REPORT_DATA',
      `tdx report data must be ${String(TDX_REPORTDATA_LEN)} bytes, got ${String(reportData.length)}`,
    );
  const req = Buffer.alloc(TDX_REPORT_REQ_SIZE);
  req.set(reportData, 0);
  try {
    await device.ioctl(path, TDX_CMD_GET_REPORT0, req, { signal });
  } catch (err) {
    if (err instanceof AttesterError) throw err;
    throw new AttesterError(
      ioctlKind(err),
      'ERR_ATTESTER_IOCTL',
      `${path} TDX_CMD_GET_REPORT0: ${errnoOf(err) ?? (err instanceof Error ? err.message : String(err))}`,
      { cause: err },
    );
  }
  const report = new Uint8Array(req.subarray(TDX_REPORTDATA_LEN));
  const echoed = report.subarray(TDREPORT_OFFSETS.reportData, TDREPORT_OFFSETS.reportData + 64);
  if (!Buffer.from(echoed).equals(Buffer.from(reportData)))
    throw new AttesterError(
      'internal',
      'ERR_ATTESTER_EVIDENCE',
      `${path} TDX_CMD_GET_REPORT0: the TDREPORT does not carry the requested report data`,
    );
  return report;
}

/** RTMR `index` (0..3) of a TDREPORT. */
export function tdReportRtmr(report: Uint8Array, index: number): Uint8Array {
  const at = TDREPORT_OFFSETS.rtmr0 + index * 48;
  return report.slice(at, at + 48);
}

/** MRCONFIGID (48 bytes) of a TDREPORT. */
export function tdReportMrConfigId(report: Uint8Array): Uint8Array {
  return report.slice(TDREPORT_OFFSETS.mrConfigId, TDREPORT_OFFSETS.mrConfigId + 48);
}
