import { CcError, type ErrorKind } from '#src/lib/index.js';

export type ConfigErrorCode = 'ERR_CONFIG_INVALID' | 'ERR_CONFIG_READ' | 'ERR_CONFIG_SYNTAX';

export class ConfigError extends CcError {
  declare readonly code: ConfigErrorCode;
  constructor(kind: ErrorKind, code: ConfigErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
