export { AllowAllPolicy, DenyListPolicy } from './agent-policy.js';
export type { AgentPolicy, PolicyDecision } from './agent-policy.js';
