import { join } from 'node:path';
import { TeeError, parseSnpReport, snpReportToSevJson, SNP_REPORT_SIZE } from '#src/tee/index.js';
import { checkReportData, type Attester, type EvidenceOptions } from './attester.js';
import {
  NODE_TSM_FS,
  pathExists,
  hasConfigfsTsm,
  requestTsmReport,
  type TsmFs,
} from './configfs-tsm.js';
import { AttesterError } from './errors.js';
import { requestSnpReportIoctl } from './sev-guest-ioctl.js';
import { parseSnpCertTable } from './snp-cert-table.js';
import { NATIVE_TEE_DEVICE, type TeeDevice } from './tee-device.js';

export const SNP_TSM_PROVIDER = 'sev_guest';
export const SNP_GUEST_DEVICE = 'dev/sev-guest';

export interface SnpAttesterOptions {
  readonly root?: string | undefined;
  readonly fs?: TsmFs | undefined;
  /** VMPL to request the report at (configfs-tsm `privlevel`, ioctl `vmpl`); absent = the kernel's default / 0. */
  readonly vmpl?: number | undefined;
  /** `/dev/sev-guest` when configfs-tsm is absent (default: the native addon's ioctl). */
  readonly device?: TeeDevice | undefined;
}

/** Trustee's SNP evidence: the `sev` crate's serde shape of the report and certificate table. */
export interface SnpEvidenceJson {
  readonly attestation_report: Record<string, unknown>;
  readonly cert_chain: { readonly cert_type: string; readonly data: number[] }[] | null;
}

interface RawSnpReport {
  readonly raw: Uint8Array;
  readonly auxblob: Uint8Array | undefined;
  readonly via: string;
}

/**
 * SEV-SNP attester, in upstream's order: the extended report (report + certificate table) through
 * configfs-tsm, else SNP_GET_EXT_REPORT / SNP_GET_REPORT on `/dev/sev-guest`.
 */
export function createSnpAttester(options: SnpAttesterOptions = {}): Attester {
  const root = options.root ?? '/';
  const fs = options.fs ?? NODE_TSM_FS;
  const device = options.device ?? NATIVE_TEE_DEVICE;
  const devPath = join(root, SNP_GUEST_DEVICE);
  const report = async (
    reportData: Uint8Array,
    opts: EvidenceOptions,
    withCerts: boolean,
  ): Promise<RawSnpReport> => {
    const inblob = checkReportData(reportData);
    let r: RawSnpReport;
    if (await hasConfigfsTsm(root, fs)) {
      const t = await requestTsmReport(
        root,
        {
          inblob,
          provider: SNP_TSM_PROVIDER,
          privlevel: options.vmpl,
          wantAuxblob: withCerts,
          signal: opts.signal,
        },
        fs,
      );
      r = { raw: t.outblob, auxblob: t.auxblob, via: 'configfs-tsm' };
    } else if (await pathExists(fs, devPath)) {
      const d = await requestSnpReportIoctl(device, devPath, {
        reportData: inblob,
        vmpl: options.vmpl,
        withCerts,
        signal: opts.signal,
      });
      r = { raw: d.report, auxblob: d.certs, via: devPath };
    } else {
      throw new AttesterError(
        'unavailable',
        'ERR_ATTESTER_UNAVAILABLE',
        `snp report unavailable: neither configfs-tsm (${join(root, 'sys/kernel/config/tsm/report')}) nor ${devPath} exists; load the sev-guest driver (kernel ≥ 5.19) or mount configfs (kernel ≥ 6.7)`,
      );
    }
    return checkedReport(r);
  };
  return {
    tee: 'snp',
    async getEvidence(reportData, opts = {}) {
      const r = await report(reportData, opts, true);
      const certs = r.auxblob && r.auxblob.length > 0 ? parseSnpCertTable(r.auxblob) : undefined;
      const evidence: SnpEvidenceJson = {
        attestation_report: snpReportToSevJson(r.raw),
        cert_chain: certs ? certs.map((c) => ({ cert_type: c.certType, data: [...c.data] })) : null,
      };
      return evidence;
    },
    async initDataField(opts = {}) {
      const r = await report(new Uint8Array(64), opts, false);
      return parseSnpReport(r.raw).hostData;
    },
  };
}

function checkedReport(r: RawSnpReport): RawSnpReport {
  if (r.raw.length < SNP_REPORT_SIZE)
    throw new AttesterError(
      'internal',
      'ERR_ATTESTER_EVIDENCE',
      `${r.via} returned a ${String(r.raw.length)}-byte snp report, expected ${String(SNP_REPORT_SIZE)}`,
    );
  const raw = r.raw.slice(0, SNP_REPORT_SIZE);
  try {
    parseSnpReport(raw);
  } catch (err) {
    if (err instanceof TeeError)
      throw new AttesterError(
        'internal',
        'ERR_ATTESTER_EVIDENCE',
        `${r.via} returned a malformed snp report: ${err.message}`,
        { cause: err },
      );
    throw err;
  }
  return { ...r, raw };
}
