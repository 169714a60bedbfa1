import { OciError, isOciError } from './errors.js';

/** A registry endpoint as error messages name it. */
export interface EndpointName {
  readonly host: string;
  readonly repository: string;
  readonly mirror: boolean;
}

/** The one failure, or all of them (`mirror a: …; registry b: …`) with the last one's kind. */
export function combinedFailure(
  failures: readonly { endpoint: EndpointName; err: unknown }[],
  what: string,
): Error {
  const last = failures.at(-1);
  if (last === undefined)
    return new OciError('unavailable', 'ERR_OCI_REGISTRY', `${what}: no registry endpoint`);
  if (failures.length === 1)
    return last.err instanceof Error ? last.err : new Error(String(last.err));
  const reasons = failures.map(
    ({ endpoint, err }) =>
      `${endpoint.mirror ? 'mirror' : 'registry'} ${endpoint.host}/${endpoint.repository}: ${err instanceof Error ? err.message : String(err)}`,
  );
  const kind = isOciError(last.err) ? last.err.kind : 'unavailable';
  const code = isOciError(last.err) ? last.err.code : 'ERR_OCI_REGISTRY';
  return new OciError(kind, code, `${what}: every source failed: ${reasons.join('; ')}`, {
    cause: last.err,
  });
}

export function statusError(status: number, what: string, host: string): OciError {
  if (status === 404)
    return new OciError('not_found', 'ERR_OCI_NOT_FOUND', `${what} not found on ${host}`);
  if (status === 403)
    return new OciError(
      'permission_denied',
      'ERR_OCI_UNAUTHORIZED',
      `Not authorized: ${host} denied ${what} (403)`,
    );
  return new OciError(
    status >= 500 ? 'unavailable' : 'internal',
    'ERR_OCI_REGISTRY',
    `${host} answered ${String(status)} for ${what}`,
  );
}

export function toRegistryError(err: unknown, host: string): Error {
  if (err instanceof OciError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const text = err instanceof Error ? err.message : String(err);
  return new OciError('unavailable', 'ERR_OCI_REGISTRY', `cannot reach registry ${host}: ${text}`, {
    cause: err,
  });
}
