import { CcError, type ErrorKind } from '#src/lib/index.js';

export type AgentErrorCode =
  'ERR_AGENT_CONNECT' | 'ERR_AGENT_NOT_READY' | 'ERR_AGENT_SPEC' | 'ERR_AGENT_RESPONSE';

export class AgentError extends CcError {
  declare readonly code: AgentErrorCode;
  constructor(kind: ErrorKind, code: AgentErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
