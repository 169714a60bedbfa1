import { formatImageReference, type ImageReference } from '../reference.js';
import type { PolicyRequirement, SignaturePolicy } from './policy.js';

/**
 * The requirements for `ref`, from the most specific matching `transports.docker` scope (full
 * reference, repository, parent namespaces, host, `*.domain` wildcards) or else the default.
 */
export function requirementsFor(
  policy: SignaturePolicy,
  ref: ImageReference,
): { scope: string; requirements: readonly PolicyRequirement[] } {
  const candidates: string[] = [formatImageReference(ref)];
  const path = `${ref.registry}/${ref.repository}`.split('/');
  for (let n = path.length; n >= 1; n--) candidates.push(path.slice(0, n).join('/'));
  const host = ref.registry.replace(/:\d+$/, '');
  const labels = host.split('.');
  for (let i = 1; i < labels.length; i++) candidates.push(`*.${labels.slice(i).join('.')}`);
  for (const scope of candidates) {
    const reqs = policy.docker[scope];
    if (reqs) return { scope, requirements: reqs };
  }
  const fallback = policy.docker[''];
  if (fallback) return { scope: 'docker default', requirements: fallback };
  return { scope: 'default', requirements: policy.default };
}
