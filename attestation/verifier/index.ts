export * from './verifier.js';
export * from './errors.js';
export { createTdxVerifier, type TdxVerifierOptions } from './tdx/tdx-verifier.js';
export * from './tdx/collateral.js';
export { evaluateTdxTcb, type TdxTcbEvaluation } from './tdx/tcb-status.js';
export {
  parseTdxTcbInfo,
  parseQeIdentity,
  TCB_STATUSES,
  type TcbStatus,
  type TdxTcbInfo,
  type QeIdentity,
} from './tdx/tcb-info.js';
export { parsePckExtensions, type PckExtensions } from './tdx/pck-extensions.js';
export {
  createSnpVerifier,
  verifyVekChain,
  loadAmdChains,
  type SnpVerifierOptions,
  type SnpVekProvider,
  type AmdChain,
} from './snp/snp-verifier.js';
export { parseVekExtensions, type VekExtensions } from './snp/vek-extensions.js';
export type { SnpRawEvidence } from './snp/snp-evidence.js';
export { createSampleVerifier, type SampleVerifierOptions } from './sample/sample-verifier.js';
export { parseCertificates } from './cert-chain.js';
export { commonName } from './cert-chain.js';
