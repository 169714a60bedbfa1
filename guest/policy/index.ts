export { AllowAllPolicy, DenyListPolicy } from './agent-policy.js';
export type { AgentPolicy, PolicyDecision } from './agent-policy.js';
export {
  compileAgentPolicy,
  RegoAgentPolicy,
  UNPOLICED_WHEN_UNDEFINED,
  type RegoAgentPolicyOptions,
  type RegoPolicyDecision,
} from './rego-agent-policy.js';
export {
  GUEST_AGENT_POLICY_DIR,
  INITDATA_POLICY_PATH,
  loadAgentPolicy,
  type LoadAgentPolicyOptions,
} from './load-agent-policy.js';
export { denialReason, type ReasonContext } from './denial-reason.js';
export { AgentPolicyError, type AgentPolicyErrorCode } from './errors.js';
