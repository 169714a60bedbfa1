export * from './errors.js';
export * from './trust-vector.js';
export { RegoPolicyEngine, type PolicyEngine } from './policy-engine.js';
export { TokenSigner } from './token-signer.js';
export {
  AttestationService,
  EAR_PROFILE,
  EAR_DEVELOPER,
  EAR_BUILD,
  DEFAULT_TOKEN_TTL_SECONDS,
  type AttestationServiceOptions,
  type AttestRequest,
  type AttestOutcome,
} from './attestation-service.js';
