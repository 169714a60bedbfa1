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
  AA_EVENTLOG_PATH,
  CCEL_PATH,
  TDX_GUEST_DEVICES,
  TDX_TSM_PROVIDER,
  createTdxAttester,
  type TdxAttesterOptions,
  type TdxEvidenceJson,
} from './tdx-attester.js';
export {
  SNP_GUEST_DEVICE,
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
  SAMPLE_DIGEST_LENGTH,
  createSampleAttester,
  type SampleAttester,
  type SampleAttesterOptions,
  type SampleEvidenceJson,
  type SampleRuntimeEvent,
} from './sample-attester.js';
export {
  NATIVE_TEE_DEVICE,
  errnoOf,
  type DeviceIoctlOptions,
  type TeeDevice,
} from './tee-device.js';
export {
  SNP_EXT_REPORT_REQ_SIZE,
  SNP_GET_EXT_REPORT,
  SNP_GET_REPORT,
  SNP_GUEST_REQUEST_IOCTL_SIZE,
  SNP_GUEST_VMM_ERR_BUSY,
  SNP_GUEST_VMM_ERR_INVALID_LEN,
  SNP_MAX_CERT_PAGES,
  SNP_REPORT_REQ_SIZE,
  SNP_REPORT_RESP_SIZE,
  requestSnpReportIoctl,
  type SnpIoctlReport,
  type SnpIoctlReportRequest,
} from './sev-guest-ioctl.js';
export {
  TDREPORT_OFFSETS,
  TDX_CMD_GET_REPORT0,
  TDX_REPORTDATA_LEN,
  TDX_REPORT_LEN,
  TDX_REPORT_REQ_SIZE,
  requestTdReport,
  tdReportMrConfigId,
  tdReportRtmr,
} from './tdx-guest-ioctl.js';
export {
  QGS_ERRORS,
  QGS_GET_QUOTE_REQ,
  QGS_GET_QUOTE_RESP,
  QGS_HEADER_SIZE,
  QGS_MAX_FRAME,
  QGS_MSG_MAJOR_VER,
  QGS_MSG_MINOR_VER,
  QGS_TIMEOUT_MS,
  TDX_ATTEST_CONF,
  decodeQgsGetQuoteRequest,
  decodeQgsGetQuoteResponse,
  encodeQgsGetQuoteRequest,
  encodeQgsGetQuoteResponse,
  frameQgsMessage,
  getQuoteFromQgs,
  parseTdxAttestPort,
  readQgsFrame,
  type QgsQuoteOptions,
} from './qgs-client.js';
export {
  RTMR_SIZE,
  TDX_MEASUREMENTS_DIR,
  extendRtmr,
  pcrToRtmr,
  readRtmr,
  rtmrPath,
} from './tdx-rtmr.js';
export { createAttester, detectTee, type DetectAttesterOptions } from './detect-attester.js';
