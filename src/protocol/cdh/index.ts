/**
 * Guest-components APIs: attestation-agent (`attestation_agent.AttestationAgentService`),
 * confidential-data-hub (`api.*Service`) and the ocicrypt keyprovider
 * (`keyprovider.KeyProviderService`). Generated message types, codecs and service descriptors
 * for `guest/aa`, `guest/cdh` and the agent's CDH client.
 */
import { ttrpcServiceOf } from '../agent/index.js';
import { AttestationAgentServiceDefinition as aaDefinition } from '../generated/aa/attestation-agent.js';
import * as cdhApi from '../generated/cdh/api.js';
import { KeyProviderServiceDefinition as keyProviderDefinition } from '../generated/cdh/keyprovider.js';

export type { MessageCodec } from '../agent/index.js';

/** Fully qualified ttrpc service names. */
export const AA_SERVICE = 'attestation_agent.AttestationAgentService';
export const CDH_SERVICES = {
  sealedSecret: 'api.SealedSecretService',
  getResource: 'api.GetResourceService',
  keyProvider: 'api.KeyProviderService',
  secureMount: 'api.SecureMountService',
  secureVolume: 'api.SecureVolumeService',
  imagePull: 'api.ImagePullService',
} as const;
export const KEYPROVIDER_SERVICE = 'keyprovider.KeyProviderService';

export {
  AttestationAgentServiceDefinition,
  BindInitDataRequest,
  BindInitDataResponse,
  ExtendRuntimeMeasurementRequest,
  ExtendRuntimeMeasurementResponse,
  GetAdditionalEvidenceRequest,
  GetEvidenceRequest,
  GetEvidenceResponse,
  GetTeeTypeRequest,
  GetTeeTypeResponse,
  GetTokenRequest,
  GetTokenResponse,
  InitDataPlaintext,
} from '../generated/aa/attestation-agent.js';

export {
  ActivateVolumeRequest,
  ActivateVolumeResponse,
  DeactivateVolumeRequest,
  DeactivateVolumeResponse,
  GetResourceRequest,
  GetResourceResponse,
  GetResourceServiceDefinition,
  ImagePullRequest,
  ImagePullResponse,
  ImagePullServiceDefinition,
  KeyProviderServiceDefinition as CdhKeyProviderServiceDefinition,
  SealedSecretServiceDefinition,
  SecureMountRequest,
  SecureMountResponse,
  SecureMountServiceDefinition,
  SecureVolumeServiceDefinition,
  UnsealSecretInput,
  UnsealSecretOutput,
  VolumeAccess,
} from '../generated/cdh/api.js';

// The api and keyprovider packages declare the same two messages; their codecs are identical.
export {
  KeyProviderKeyWrapProtocolInput,
  KeyProviderKeyWrapProtocolOutput,
  KeyProviderServiceDefinition,
} from '../generated/cdh/keyprovider.js';

/** ttrpc ServiceDefs (methods keyed by wire name) for the guest-components services. */
export const aaService = ttrpcServiceOf(aaDefinition);
export const sealedSecretService = ttrpcServiceOf(cdhApi.SealedSecretServiceDefinition);
export const getResourceService = ttrpcServiceOf(cdhApi.GetResourceServiceDefinition);
export const cdhKeyProviderService = ttrpcServiceOf(cdhApi.KeyProviderServiceDefinition);
export const secureMountService = ttrpcServiceOf(cdhApi.SecureMountServiceDefinition);
export const secureVolumeService = ttrpcServiceOf(cdhApi.SecureVolumeServiceDefinition);
export const imagePullService = ttrpcServiceOf(cdhApi.ImagePullServiceDefinition);
export const keyProviderService = ttrpcServiceOf(keyProviderDefinition);
