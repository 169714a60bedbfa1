import { CcError, type ErrorKind } from '#src/lib/index.js';

/** Stable error codes of src/host/image-crypt (listed in README.md). */
export type ImageCryptErrorCode =
  | 'ERR_KEYPROVIDER_PARAMS'
  | 'ERR_KEYPROVIDER_KEK'
  | 'ERR_KEYPROVIDER_UNWRAP'
  | 'ERR_KEYPROVIDER_CONFIG'
  | 'ERR_KEYPROVIDER_CMD'
  | 'ERR_IMAGE_ENCRYPT';

export class ImageCryptError extends CcError {
  declare readonly code: ImageCryptErrorCode;
  constructor(kind: ErrorKind, code: ImageCryptErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
