import { CcError } from '#src/lib/index.js';
import type { ErrorKind } from '#src/lib/index.js';

export type TransportErrorCode =
  /** Connecting failed (no listener, refused, timed out). */
  | 'ERR_TRANSPORT_CONNECT'
  /** The hybrid-vsock `CONNECT`/`OK` exchange failed or was malformed. */
  | 'ERR_TRANSPORT_HANDSHAKE'
  /** This host cannot provide the transport (no AF_VSOCK, no native addon). */
  | 'ERR_TRANSPORT_UNAVAILABLE'
  /** The port or listener is closed. */
  | 'ERR_TRANSPORT_CLOSED'
  /** Reading or writing the device failed. */
  | 'ERR_TRANSPORT_IO';

export class TransportError extends CcError {
  declare readonly code: TransportErrorCode;
  constructor(kind: ErrorKind, code: TransportErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
