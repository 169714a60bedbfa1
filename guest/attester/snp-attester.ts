import { TeeError, parseSnpReport, snpReportToSevJson, SNP_REPORT_SIZE } from '#src/tee/index.js';
import { checkReportData, type Attester, type EvidenceOptions } from './attester.js';
import { NODE_TSM_FS, hasConfigfsTsm, requestTsmReport, type TsmFs } from './configfs-tsm.js';
import { AttesterError } from './errors.js';
import { parseSnpCertTable } from './snp-cert-table.js';

export const SNP_TSM_PROVIDER = 'sev_guest';
export const SNP_GUEST_DEVICE = 'dev/sev-guest';

export interface SnpAttesterOptions {
  readonly root?: string | undefined;
  readonly fs?: TsmFs | undefined;
  /** VMPL to request the report at (configfs-tsm `privlevel`); absent = the kernel's default. */
  readonly vmpl?: number | undefined;
}

/** Trustee's SNP evidence: the `sev` crate's serde shape of the report and certificate table. */
export interface SnpEvidenceJson {
  readonly attestation_report: Record<string, unknown>;
  readonly cert_chain: { readonly cert_type: string; readonly data: number[] }[] | null;
}

/** SEV-SNP attester: the extended report (report + certificate table) through configfs-tsm. */
export function createSnpAttester(options: SnpAttesterOptions = {}): Attester {
  const root = options.root ?? '/';
  const fs = options.fs ?? NODE_TSM_FS;
  const report = async (reportData: Uint8Array, opts: EvidenceOptions) => {
    if (!(await hasConfigfsTsm(root, fs)))
      throw new AttesterError(
        'unavailable',
        'ERR_ATTESTER_UNAVAILABLE',
        'snp report unavailable: configfs-tsm (/sys/kernel/config/tsm/report) is missing and the native addon has no /dev/sev-guest ioctl; mount configfs or use a kernel ≥ 6.7',
      );
    const r = await requestTsmReport(
      root,
      {
        inblob: checkReportData(reportData),
        provider: SNP_TSM_PROVIDER,
        privlevel: options.vmpl,
        wantAuxblob: true,
        signal: opts.signal,
      },
      fs,
    );
    if (r.outblob.length < SNP_REPORT_SIZE)
      throw new AttesterError(
        'internal',
        'ERR_ATTESTER_EVIDENCE',
        `configfs-tsm returned a ${String(r.outblob.length)}-byte snp report, expected ${String(SNP_REPORT_SIZE)}`,
      );
    const raw = r.outblob.slice(0, SNP_REPORT_SIZE);
    try {
      parseSnpReport(raw);
    } catch (err) {
      if (err instanceof TeeError)
        throw new AttesterError(
          'internal',
          'ERR_ATTESTER_EVIDENCE',
          `configfs-tsm returned a malformed snp report: ${err.message}`,
          { cause: err },
        );
      throw err;
    }
    return { raw, auxblob: r.auxblob };
  };
  return {
    tee: 'snp',
    async getEvidence(reportData, opts = {}) {
      const r = await report(reportData, opts);
      const certs = r.auxblob && r.auxblob.length > 0 ? parseSnpCertTable(r.auxblob) : undefined;
      const evidence: SnpEvidenceJson = {
        attestation_report: snpReportToSevJson(r.raw),
        cert_chain: certs ? certs.map((c) => ({ cert_type: c.certType, data: [...c.data] })) : null,
      };
      return evidence;
    },
    async initDataField(opts = {}) {
      const r = await report(new Uint8Array(64), opts);
      return parseSnpReport(r.raw).hostData;
    },
  };
}
