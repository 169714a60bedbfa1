import { CcError, type ErrorKind } from '#src/lib/index.js';

/** Stable error codes of src/oci (listed in README.md). */
export type OciErrorCode =
  | 'ERR_OCI_REFERENCE'
  | 'ERR_OCI_REGISTRY'
  | 'ERR_OCI_UNAUTHORIZED'
  | 'ERR_OCI_NOT_FOUND'
  | 'ERR_OCI_MANIFEST'
  | 'ERR_OCI_TOO_LARGE'
  | 'ERR_OCI_DIGEST_MISMATCH'
  | 'ERR_OCI_PLATFORM'
  | 'ERR_OCI_MEDIA_TYPE'
  | 'ERR_OCI_NO_KEY'
  | 'ERR_OCI_DECRYPT'
  | 'ERR_OCI_KEYPROVIDER'
  | 'ERR_OCI_POLICY'
  | 'ERR_OCI_POLICY_CONFIG'
  | 'ERR_OCI_UNSAFE_ENTRY'
  | 'ERR_OCI_UNPACK'
  | 'ERR_OCI_NO_SPACE'
  | 'ERR_OCI_DESTINATION'
  | 'ERR_OCI_REGISTRIES_CONF'
  | 'ERR_OCI_BLOCKED';

export class OciError extends CcError {
  declare readonly code: OciErrorCode;
  constructor(kind: ErrorKind, code: OciErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}

export function isOciError(err: unknown, code?: OciErrorCode): err is OciError {
  return err instanceof OciError && (code === undefined || err.code === code);
}
