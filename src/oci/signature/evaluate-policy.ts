import { OciError } from '../errors.js';
import { formatImageReference, type ImageReference } from '../reference.js';
import type { RegistryClient } from '../registry-client.js';
import type { SignaturePolicy } from './policy.js';
import { requirementsFor } from './scope.js';
import { lookasideFor, verifySimpleSigning } from './gpg-lookaside.js';
import { verifyCosign } from './sigstore.js';

export interface PolicyCheck {
  readonly reference: ImageReference;
  /** Digest of the manifest (or index) the reference resolved to. */
  readonly manifestDigest: string;
  readonly client: RegistryClient;
  /** Lookaside base URLs for GPG simple signatures, keyed by scope (`host/repo`, `host`, ``). */
  readonly lookaside?: Readonly<Record<string, string>> | undefined;
  /** Extra CA certificates for https lookaside servers. */
  readonly ca?: readonly string[] | undefined;
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
      case 'signedBy': {
        if (req.keyType !== 'GPGKeys')
          throw rejected(
            check.reference,
            scope,
            `signedBy keyType ${JSON.stringify(req.keyType)} is not supported (only GPGKeys)`,
          );
        const base = lookasideFor(check.lookaside, check.reference);
        if (base === undefined)
          throw rejected(
            check.reference,
            scope,
            'signedBy needs simple signatures, but no lookaside storage is configured for this image',
          );
        const r = await verifySimpleSigning(
          check.reference,
          check.manifestDigest,
          req.keys,
          req.signedIdentity,
          { baseUrl: base, ca: check.ca, signal: check.signal },
        );
        if (!r.ok) throw rejected(check.reference, scope, r.reason);
        break;
      }
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
