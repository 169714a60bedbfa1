export * from './errors.js';
export {
  REPORT_DATA_LENGTH,
  checkReportData,
  type Attester,
  type AttesterTee,
  type EvidenceOptions,
} from './attester.js';
export {
  NODE_TSM_FS,
  hasConfigfsTsm,
  requestTsmReport,
  tsmReportDir,
  type TsmFs,
  type TsmReport,
  type TsmReportRequest,
} from './configfs-tsm.js';
export {
  CCEL_PATH,
  TDX_TSM_PROVIDER,
  createTdxAttester,
  type TdxAttesterOptions,
  type TdxEvidenceJson,
} from './tdx-attester.js';
export {
  SNP_TSM_PROVIDER,
  createSnpAttester,
  type SnpAttesterOptions,
  type SnpEvidenceJson,
} from './snp-attester.js';
export {
  SNP_CERT_GUIDS,
  encodeSnpCertTable,
  parseSnpCertTable,
  type SnpCertEntry,
} from './snp-cert-table.js';
export {
  createSampleAttester,
  type SampleAttester,
  type SampleAttesterOptions,
  type SampleEvidenceJson,
  type SampleRuntimeEvent,
} from './sample-attester.js';
export { createAttester, detectTee, type DetectAttesterOptions } from './detect-attester.js';
