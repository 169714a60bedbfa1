import { CcError, type ErrorKind } from '#src/lib/index.js';

/** Stable error codes of guest/agent (listed in README.md). */
export type AgentErrorCode =
  | 'ERR_AGENT_INVALID'
  | 'ERR_AGENT_POLICY'
  | 'ERR_AGENT_CONFIG'
  | 'ERR_AGENT_STATE'
  | 'ERR_AGENT_SEALED_SECRET';

export class AgentError extends CcError {
  declare readonly code: AgentErrorCode;
  constructor(kind: ErrorKind, code: AgentErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
