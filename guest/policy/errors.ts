import { CcError, type ErrorKind } from '#src/lib/index.js';

/** Stable codes of the agent policy. */
export type AgentPolicyErrorCode = 'ERR_AGENT_POLICY_LOAD';

export class AgentPolicyError extends CcError {
  declare readonly code: AgentPolicyErrorCode;
  constructor(
    kind: ErrorKind,
    code: AgentPolicyErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(kind, code, message, options);
  }
}
