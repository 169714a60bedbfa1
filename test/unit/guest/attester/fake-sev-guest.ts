import { SysError } from '#native/index.js';
import {
  SNP_EXT_REPORT_REQ_SIZE,
  SNP_GET_EXT_REPORT,
  SNP_GET_REPORT,
  SNP_GUEST_REQUEST_IOCTL_SIZE,
  SNP_REPORT_REQ_SIZE,
  SNP_REPORT_RESP_SIZE,
  type DeviceIoctlOptions,
  type TeeDevice,
} from '#guest/attester/index.js';

export interface FakeSevGuestOptions {
  /** The ATTESTATION_REPORT the "firmware" returns (real bytes from shared/testdata). */
  readonly report: Uint8Array;
  /** The host's certificate table (GHCB layout); absent = the host has none. */
  readonly certs?: Uint8Array | undefined;
  /** A broken host: always answers INVALID_LEN, claiming it needs this many pages. */
  readonly claimPages?: number | undefined;
  /** MSG_REPORT_RSP status / report_size overrides. */
  readonly status?: number | undefined;
  readonly reportSize?: number | undefined;
  /** Fail the ioctl with this errno and firmware error. */
  readonly fail?: { errno: string; fwError: number } | undefined;
}

export interface SevGuestCall {
  readonly request: 'SNP_GET_REPORT' | 'SNP_GET_EXT_REPORT';
  readonly userData: Uint8Array;
  readonly vmpl: number;
  readonly certPages: number;
}

const PAGE = 4096;

function expectPointer(o: DeviceIoctlOptions, holder: number, offset: number, target: number) {
  const hit = (o.pointers ?? []).find(
    (p) => p.holder === holder && p.offset === offset && p.target === target,
  );
  if (!hit) throw new Error(`fake sev-guest: no pointer field ${holder}@${offset} → ${target}`);
  return hit;
}

/**
 * A model of the Linux sev-guest driver's ioctl ABI (drivers/virt/coco/sev-guest): checks the
 * request number, struct sizes and pointer fields the way the kernel reads them, answers
 * MSG_REPORT_RSP, and for SNP_GET_EXT_REPORT a too-small certificate buffer with EIO,
 * exitinfo2 = SNP_GUEST_VMM_ERR_INVALID_LEN << 32 and the required length in certs_len.
 */
export function fakeSevGuest(o: FakeSevGuestOptions): { device: TeeDevice; calls: SevGuestCall[] } {
  const calls: SevGuestCall[] = [];
  const device: TeeDevice = {
    ioctl(_path, request, arg, opts = {}) {
      if (request !== SNP_GET_REPORT && request !== SNP_GET_EXT_REPORT)
        return Promise.reject(new SysError('ENOTTY', 'ioctl', 'ioctl: ENOTTY'));
      if (arg.length !== SNP_GUEST_REQUEST_IOCTL_SIZE || arg.readUInt8(0) !== 1)
        return Promise.reject(new SysError('EINVAL', 'ioctl', 'ioctl: EINVAL'));
      const ext = request === SNP_GET_EXT_REPORT;
      const bufs = opts.buffers ?? [];
      expectPointer(opts, 0, 8, 1);
      expectPointer(opts, 0, 16, 2);
      const req = bufs[0];
      const resp = bufs[1];
      if (!req || !resp || resp.length < SNP_REPORT_RESP_SIZE)
        return Promise.reject(new SysError('EFAULT', 'ioctl', 'ioctl: EFAULT'));
      if (req.length < (ext ? SNP_EXT_REPORT_REQ_SIZE : SNP_REPORT_REQ_SIZE))
        return Promise.reject(new SysError('EFAULT', 'ioctl', 'ioctl: EFAULT'));
      let certPages = 0;
      let certsBuf: Buffer | undefined;
      if (ext) {
        const p = expectPointer(opts, 1, 96, 3);
        certsBuf = bufs[2];
        if (p.lengthOffset !== 104 || !certsBuf) throw new Error('fake sev-guest: certs_len');
        const certsLen = certsBuf.length; // what the addon writes into certs_len
        if (certsLen % PAGE !== 0 || certsLen > 64 * PAGE)
          return Promise.reject(new SysError('EINVAL', 'ioctl', 'ioctl: EINVAL'));
        certPages = certsLen / PAGE;
      }
      calls.push({
        request: ext ? 'SNP_GET_EXT_REPORT' : 'SNP_GET_REPORT',
        userData: new Uint8Array(req.subarray(0, 64)),
        vmpl: req.readUInt32LE(64),
        certPages,
      });
      if (o.fail) {
        arg.writeUInt32LE(o.fail.fwError, 24);
        return Promise.reject(new SysError(o.fail.errno, 'ioctl', `ioctl: ${o.fail.errno}`));
      }
      if (ext && certsBuf) {
        const need = o.claimPages ?? Math.ceil((o.certs?.length ?? 0) / PAGE);
        if (o.claimPages !== undefined || need > certPages) {
          arg.writeUInt32LE(1, 28); // vmm_error = SNP_GUEST_VMM_ERR_INVALID_LEN
          req.writeUInt32LE(need * PAGE, 104);
          return Promise.reject(new SysError('EIO', 'ioctl', 'ioctl: EIO'));
        }
        if (o.certs) certsBuf.set(o.certs);
      }
      resp.writeUInt32LE(o.status ?? 0, 0);
      resp.writeUInt32LE(o.reportSize ?? o.report.length, 4);
      resp.set(o.report, 32);
      return Promise.resolve();
    },
  };
  return { device, calls };
}
