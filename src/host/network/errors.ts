import { CcError, type ErrorKind } from '#src/lib/index.js';

export type NetworkErrorCode =
  'ERR_NET_NAMESPACE' | 'ERR_NET_SCAN' | 'ERR_NET_SETUP' | 'ERR_NET_UNSUPPORTED';

export class NetworkError extends CcError {
  declare readonly code: NetworkErrorCode;
  constructor(kind: ErrorKind, code: NetworkErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
