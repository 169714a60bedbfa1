import type { Any } from '#src/protocol/shim/index.js';
import { ServiceError } from './errors.js';

/** containerd sends OCI structs (Process, LinuxResources) as JSON inside an Any. */
export function decodeJsonAny(a: Any | undefined, what: string): unknown {
  if (a === undefined || a.value.length === 0) {
    throw new ServiceError('invalid_argument', 'ERR_SERVICE_REQUEST', `missing ${what}`);
  }
  try {
    return JSON.parse(Buffer.from(a.value).toString('utf8')) as unknown;
  } catch (err) {
    throw new ServiceError(
      'invalid_argument',
      'ERR_SERVICE_REQUEST',
      `${what} (${a.type_url}) is not valid JSON`,
      {
        cause: err,
      },
    );
  }
}
