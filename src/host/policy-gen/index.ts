export * from './errors.js';
export {
  WORKLOAD_KINDS,
  findWorkloads,
  type Workload,
  type WorkloadKind,
  type ValueSources,
} from './workloads.js';
export {
  factsOfConfig,
  RegistryImageSource,
  StaticImageSource,
  type ImageFacts,
  type ImageSource,
} from './image-source.js';
export { loadSettings, parseSettings, type PolicySettings } from './settings.js';
export {
  generatePolicies,
  initDataToml,
  LEGACY_POLICY_ANNOTATION,
  policyText,
  type GenerateOptions,
  type GeneratedPolicy,
  type GenerateResult,
} from './generate-policy.js';
export { kbsInitDataToml, type KbsInitDataOptions } from './kbs-init-data.js';
