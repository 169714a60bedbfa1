export * from './errors.js';
export {
  PolicyStore,
  DEFAULT_ATTESTATION_POLICY_FILE,
  DEFAULT_RESOURCE_POLICY_FILE,
  DEFAULT_POLICY_ID,
  MAX_POLICY_BYTES,
} from './policy-store.js';
