import { CcError, type ErrorKind } from '#src/lib/index.js';

/** Stable error codes of guest/image (listed in README.md). */
export type ImageErrorCode =
  | 'ERR_IMAGE_STORAGE'
  | 'ERR_IMAGE_CONFIG'
  | 'ERR_IMAGE_PULL_TIMEOUT'
  | 'ERR_IMAGE_PULL'
  | 'ERR_IMAGE_SCRATCH'
  | 'ERR_IMAGE_NO_SPACE'
  | 'ERR_IMAGE_CDH';

export class ImageError extends CcError {
  declare readonly code: ImageErrorCode;
  constructor(kind: ErrorKind, code: ImageErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}

export function badStorage(message: string): ImageError {
  return new ImageError('invalid_argument', 'ERR_IMAGE_STORAGE', message);
}
