import { CcError, type ErrorKind } from '#src/lib/index.js';

export type GuestNetworkErrorCode = 'ERR_NET_INVALID' | 'ERR_NET_NOT_FOUND' | 'ERR_NET_COMMAND';

export class GuestNetworkError extends CcError {
  declare readonly code: GuestNetworkErrorCode;
  constructor(
    kind: ErrorKind,
    code: GuestNetworkErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(kind, code, message, options);
  }
}

export function invalidNet(message: string): GuestNetworkError {
  return new GuestNetworkError('invalid_argument', 'ERR_NET_INVALID', message);
}
