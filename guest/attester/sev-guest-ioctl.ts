import { CcError, type ErrorKind } from '#src/lib/index.js';
import { SNP_REPORT_SIZE } from '#src/tee/index.js';
import { iowr } from '#native/index.js';
import { AttesterError } from './errors.js';
import { errnoOf, type TeeDevice } from './tee-device.js';

// <linux/sev-guest.h>; checked against the installed header by test/unit/guest/attester/kernel-abi.test.ts
/** `struct snp_guest_request_ioctl`: msg_version u8, req_data u64 @8, resp_data u64 @16, exitinfo2 u64 @24. */
export const SNP_GUEST_REQUEST_IOCTL_SIZE = 32;
/** `struct snp_report_req`: user_data[64], vmpl u32 @64, rsvd[28]. */
export const SNP_REPORT_REQ_SIZE = 96;
/** `struct snp_ext_report_req`: data (snp_report_req), certs_address u64 @96, certs_len u32 @104. */
export const SNP_EXT_REPORT_REQ_SIZE = 112;
/** `struct snp_report_resp`: data[4000] (MSG_REPORT_RSP: status u32, report_size u32, 24 reserved, report). */
export const SNP_REPORT_RESP_SIZE = 4000;
export const SNP_GET_REPORT = iowr(0x53, 0x0, SNP_GUEST_REQUEST_IOCTL_SIZE);
export const SNP_GET_EXT_REPORT = iowr(0x53, 0x2, SNP_GUEST_REQUEST_IOCTL_SIZE);
/** exitinfo2 bits 63:32: the hypervisor's error; INVALID_LEN = the certificate buffer is too small. */
export const SNP_GUEST_VMM_ERR_INVALID_LEN = 1;
export const SNP_GUEST_VMM_ERR_BUSY = 2;

const PAGE = 4096;
/** The first certificate buffer: 4 pages hold ARK + ASK + VCEK (~5 KiB) with room to spare. */
const FIRST_CERT_PAGES = 4;
/** The host may ask for more, but never more than this (a hostile host must not make us allocate GiBs). */
export const SNP_MAX_CERT_PAGES = 64;
const MSG_REPORT_RSP_HEADER = 32;

export interface SnpIoctlReportRequest {
  /** Exactly 64 bytes (callers pad with checkReportData). */
  readonly reportData: Uint8Array;
  readonly vmpl?: number | undefined;
  /** Ask for the host's certificate table too (SNP_GET_EXT_REPORT); else SNP_GET_REPORT. */
  readonly withCerts: boolean;
  readonly signal?: AbortSignal | undefined;
}

export interface SnpIoctlReport {
  /** The 1184-byte ATTESTATION_REPORT. */
  readonly report: Uint8Array;
  /** The certificate table as the host wrote it (GHCB layout), undefined when none was asked or given. */
  readonly certs: Uint8Array | undefined;
}

function reportReq(size: number, reportData: Uint8Array, vmpl: number): Buffer {
  const req = Buffer.alloc(size);
  req.set(reportData, 0);
  req.writeUInt32LE(vmpl, 64);
  return req;
}

function ioctlError(path: string, what: string, arg: Buffer, err: unknown): AttesterError {
  const errno = errnoOf(err);
  const fw = arg.readUInt32LE(24);
  const vmm = arg.readUInt32LE(28);
  if (err instanceof AttesterError) return err;
  const detail = errno ?? (err instanceof Error ? err.message : String(err));
  const codes =
    fw !== 0 || vmm !== 0 ? ` (firmware error 0x${fw.toString(16)}, vmm error ${String(vmm)})` : '';
  return new AttesterError(
    ioctlKind(err),
    'ERR_ATTESTER_IOCTL',
    `${path} ${what}: ${detail}${codes}`,
    { cause: err },
  );
}

/** unavailable for a missing driver or addon and for a busy one (retry), else internal. */
export function ioctlKind(err: unknown): ErrorKind {
  const errno = errnoOf(err);
  if (errno === undefined) return err instanceof CcError ? err.kind : 'internal';
  return ['ENOTTY', 'ENODEV', 'ENXIO', 'EBUSY', 'EAGAIN'].includes(errno)
    ? 'unavailable'
    : 'internal';
}

/** The report from MSG_REPORT_RSP, checked: status 0, report_size 1184. */
function reportFromResponse(path: string, resp: Buffer): Uint8Array {
  const status = resp.readUInt32LE(0);
  const size = resp.readUInt32LE(4);
  if (status !== 0)
    throw new AttesterError(
      'internal',
      'ERR_ATTESTER_EVIDENCE',
      `${path}: the firmware answered MSG_REPORT_RSP status 0x${status.toString(16)} (0x16 = invalid parameters, e.g. a vmpl below the guest's)`,
    );
  if (size !== SNP_REPORT_SIZE)
    throw new AttesterError(
      'internal',
      'ERR_ATTESTER_EVIDENCE',
      `${path}: MSG_REPORT_RSP report_size is ${String(size)}, expected ${String(SNP_REPORT_SIZE)}`,
    );
  return new Uint8Array(resp.subarray(MSG_REPORT_RSP_HEADER, MSG_REPORT_RSP_HEADER + size));
}

/**
 * One SNP guest request through `/dev/sev-guest` (what go-sev-guest and the `sev` crate do when
 * configfs-tsm is absent): SNP_GET_REPORT, or SNP_GET_EXT_REPORT with a certificate buffer that
 * grows when the host answers SNP_GUEST_VMM_ERR_INVALID_LEN (the kernel writes the required
 * length back into certs_len).
 */
export async function requestSnpReportIoctl(
  device: TeeDevice,
  path: string,
  req: SnpIoctlReportRequest,
): Promise<SnpIoctlReport> {
  const vmpl = req.vmpl ?? 0;
  if (!Number.isInteger(vmpl) || vmpl < 0 || vmpl > 3)
    throw new AttesterError(
      'invalid_argument',
      'ERR_ATTESTER_IOCTL',
      `vmpl ${String(vmpl)} is not 0..3`,
    );
  if (!req.withCerts) {
    const arg = guestRequest();
    const rreq = reportReq(SNP_REPORT_REQ_SIZE, req.reportData, vmpl);
    const resp = Buffer.alloc(SNP_REPORT_RESP_SIZE);
    try {
      await device.ioctl(path, SNP_GET_REPORT, arg, {
        buffers: [rreq, resp],
        pointers: [
          { holder: 0, offset: 8, target: 1 },
          { holder: 0, offset: 16, target: 2 },
        ],
        signal: req.signal,
      });
    } catch (err) {
      throw ioctlError(path, 'SNP_GET_REPORT', arg, err);
    }
    return { report: reportFromResponse(path, resp), certs: undefined };
  }
  let pages = FIRST_CERT_PAGES;
  for (let attempt = 0; ; attempt++) {
    const arg = guestRequest();
    const rreq = reportReq(SNP_EXT_REPORT_REQ_SIZE, req.reportData, vmpl);
    const resp = Buffer.alloc(SNP_REPORT_RESP_SIZE);
    const certs = Buffer.alloc(pages * PAGE);
    try {
      await device.ioctl(path, SNP_GET_EXT_REPORT, arg, {
        buffers: [rreq, resp, certs],
        pointers: [
          { holder: 0, offset: 8, target: 1 },
          { holder: 0, offset: 16, target: 2 },
          { holder: 1, offset: 96, target: 3, lengthOffset: 104, lengthSize: 4 },
        ],
        signal: req.signal,
      });
      const report = reportFromResponse(path, resp);
      return { report, certs: certs.every((b) => b === 0) ? undefined : new Uint8Array(certs) };
    } catch (err) {
      if (arg.readUInt32LE(28) !== SNP_GUEST_VMM_ERR_INVALID_LEN || errnoOf(err) === undefined)
        throw ioctlError(path, 'SNP_GET_EXT_REPORT', arg, err);
      pages = nextPages(path, rreq.readUInt32LE(104), pages, attempt);
    }
  }
}

function guestRequest(): Buffer {
  const arg = Buffer.alloc(SNP_GUEST_REQUEST_IOCTL_SIZE);
  arg.writeUInt8(1, 0); // msg_version
  return arg;
}

function nextPages(path: string, wantBytes: number, had: number, attempt: number): number {
  const want = Math.ceil(wantBytes / PAGE);
  if (attempt >= 2 || want <= had || want > SNP_MAX_CERT_PAGES)
    throw new AttesterError(
      'internal',
      'ERR_ATTESTER_IOCTL',
      `${path} SNP_GET_EXT_REPORT: the host keeps asking for a larger certificate buffer (${String(wantBytes)} bytes after ${String(had)} pages, attempt ${String(attempt + 1)}; limit ${String(SNP_MAX_CERT_PAGES)} pages)`,
    );
  return want;
}
