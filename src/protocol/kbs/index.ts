export * from './errors.js';
export * from './kbs-types.js';
export { canonicalJson, canonicalNumber, canonicalString } from './canonical-json.js';
export { computeReportData, reportDataLength } from './report-data.js';
export {
  encryptToTeeKey,
  decryptWithTeeKey,
  generateTeeKeyPair,
  JWE_ALG_ECDH_ES_A256KW,
  JWE_ALG_RSA_OAEP_256,
  JWE_ENC_A256GCM,
  type TeeKeyPair,
} from './jwe.js';
export { signAdminToken } from './admin-token.js';
export {
  KbsClient,
  sampleEvidenceProvider,
  staticEvidenceProvider,
  type KbsClientOptions,
  type KbsEvidenceProvider,
  type AttestOptions,
  type AttestResult,
} from './kbs-client.js';
