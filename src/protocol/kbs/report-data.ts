import { createHash } from 'node:crypto';
import { fitBytes } from '#src/lib/index.js';
import { canonicalJson } from './canonical-json.js';
import { runtimeDataToJson, type KbsTeeName, type RuntimeData } from './kbs-types.js';

/** Length of the report_data field per TEE (TDX REPORTDATA, SNP REPORT_DATA, sample: 64 bytes). */
export function reportDataLength(tee: KbsTeeName): number {
  switch (tee) {
    case 'tdx':
    case 'snp':
    case 'sample':
    case 'sgx':
    case 'aztdxvtpm':
    case 'azsnpvtpm':
    case 'cca':
    case 'csv':
    case 'se':
    case 'sev':
    case 'nvidia':
    case 'sampledevice':
      return 64;
  }
}

/**
 * report_data = SHA-384(RFC 8785 canonical JSON of the runtime-data object), zero-padded to the
 * TEE's report_data length (64 bytes for every TEE the KBS verifies).
 */
export function computeReportData(runtimeData: RuntimeData, tee: KbsTeeName): Uint8Array {
  const digest = createHash('sha384')
    .update(canonicalJson(runtimeDataToJson(runtimeData)))
    .digest();
  return fitBytes(new Uint8Array(digest), reportDataLength(tee));
}
