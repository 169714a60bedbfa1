import { CcError, type ErrorKind } from '#src/lib/index.js';

/** Stable error codes of guest/sandbox (listed in README.md). */
export type SandboxErrorCode =
  | 'ERR_SANDBOX_STATE'
  | 'ERR_SANDBOX_NOT_FOUND'
  | 'ERR_SANDBOX_EXISTS'
  | 'ERR_SANDBOX_INVALID'
  | 'ERR_SANDBOX_RUNTIME'
  | 'ERR_SANDBOX_STORAGE'
  | 'ERR_SANDBOX_REFUSED'
  | 'ERR_SANDBOX_IO'
  | 'ERR_SANDBOX_EOF'
  | 'ERR_SANDBOX_NO_TTY'
  | 'ERR_SANDBOX_CGROUP';

export class SandboxError extends CcError {
  declare readonly code: SandboxErrorCode;
  constructor(kind: ErrorKind, code: SandboxErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}

export function invalidInput(message: string): SandboxError {
  return new SandboxError('invalid_argument', 'ERR_SANDBOX_INVALID', message);
}
