import { CcError, type ErrorKind } from '#src/lib/index.js';

export type ResourceErrorCode =
  | 'ERR_RESOURCE_MOUNT'
  | 'ERR_RESOURCE_UNMOUNT'
  | 'ERR_RESOURCE_IMAGE'
  | 'ERR_RESOURCE_CONFIDENTIAL';

export class ResourceError extends CcError {
  declare readonly code: ResourceErrorCode;
  constructor(kind: ErrorKind, code: ResourceErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
