import { OciError } from '../errors.js';
import { formatImageReference, type ImageReference } from '../reference.js';
import type { RegistryClient } from '../registry-client.js';
import type { SignaturePolicy } from './policy.js';
import { requirementsFor } from './scope.js';
import { verifyCosign } from './sigstore.js';

export interface PolicyCheck {
  readonly reference: ImageReference;
  /** Digest of the manifest (or index) the reference resolved to. */
  readonly manifestDigest: string;
  readonly client: RegistryClient;
  readonly signal?: AbortSignal | undefined;
}

function rejected(ref: ImageReference, scope: string, why: string): OciError {
  return new OciError(
    'permission_denied',
    'ERR_OCI_POLICY',
    `Image policy rejected ${formatImageReference(ref)} (scope ${scope}): ${why}`,
  );
}

/**
 * Enforces the policy for one image: every requirement of the matching scope must hold. Throws
 * `Image policy rejected …` (permission_denied, ERR_OCI_POLICY) otherwise.
 */
export async function enforceSignaturePolicy(
  policy: SignaturePolicy,
  check: PolicyCheck,
): Promise<void> {
  const { scope, requirements } = requirementsFor(policy, check.reference);
  for (const req of requirements) {
    switch (req.type) {
      case 'insecureAcceptAnything':
        break;
      case 'reject':
        throw rejected(check.reference, scope, 'the policy rejects every image here');
      case 'signedBy':
        // Simple-signing GPG signatures live in lookaside storage (registries.d) which is not
        // configured anywhere in kata-cc; fail closed rather than accept unverified images.
        throw rejected(
          check.reference,
          scope,
          'signedBy (GPG simple signing) is not supported; sign with sigstore (cosign) and use sigstoreSigned',
        );
      case 'sigstoreSigned': {
        const r = await verifyCosign(
          check.client,
          check.reference,
          check.manifestDigest,
          req.keys,
          req.signedIdentity,
          check.signal,
        );
        if (!r.ok) throw rejected(check.reference, scope, r.reason);
        break;
      }
    }
  }
}
