export * from './policy.js';
export { requirementsFor } from './scope.js';
export { enforceSignaturePolicy, type PolicyCheck } from './evaluate-policy.js';
export {
  COSIGN_PAYLOAD_MEDIA_TYPE,
  COSIGN_SIGNATURE_ANNOTATION,
  cosignSignatureTag,
  verifyCosign,
} from './sigstore.js';
export * from './simple-signing.js';
export {
  lookaside,
  lookasideFor,
  signSimpleSigning,
  verifySimpleSigning,
  type LookasideOptions,
} from './gpg-lookaside.js';
