import { verify, type KeyObject } from 'node:crypto';
import { isOciError } from '../errors.js';
import { parseManifestDocument, type ImageManifest } from '../manifest.js';
import { parseImageReference, type ImageReference } from '../reference.js';
import type { RegistryClient } from '../registry-client.js';
import type { SignedIdentity } from './policy.js';
import { parseSimpleSigningPayload } from './simple-signing.js';

export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const COSIGN_PAYLOAD_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
const MAX_PAYLOAD = 1 << 20;

/** The cosign signature tag for a manifest digest: `sha256-<hex>.sig`. */
export function cosignSignatureTag(manifestDigest: string): string {
  return `${manifestDigest.replace(':', '-')}.sig`;
}

/** The cosign signature manifest of the image, or undefined when the registry has none. */
export async function fetchCosignSignatures(
  client: RegistryClient,
  ref: ImageReference,
  manifestDigest: string,
  signal?: AbortSignal,
): Promise<ImageManifest | undefined> {
  try {
    const got = await client.getManifest(ref, cosignSignatureTag(manifestDigest), 4 << 20, signal);
    const doc = parseManifestDocument(got.bytes, got.contentType, 'signature manifest');
    return doc.kind === 'manifest' ? doc : undefined;
  } catch (err) {
    if (isOciError(err, 'ERR_OCI_NOT_FOUND')) return undefined;
    throw err;
  }
}

export function identityMatches(
  identity: SignedIdentity,
  signed: string | undefined,
  ref: ImageReference,
): boolean {
  if (identity.type === 'exactRepository') {
    return (
      signed !== undefined && stripTagDigest(signed) === stripTagDigest(identity.dockerRepository)
    );
  }
  if (signed === undefined) return false;
  let parsed: ImageReference;
  try {
    parsed = parseImageReference(signed);
  } catch {
    return false;
  }
  const sameRepo = parsed.registry === ref.registry && parsed.repository === ref.repository;
  if (identity.type === 'matchRepository') return sameRepo;
  // cosign signs the bare repository: such an identity vouches for the repository as a whole
  const isBareRepository = !signed.includes('@') && !/:[^/]*$/.test(signed);
  if (isBareRepository) return sameRepo && identity.type === 'matchRepoDigestOrExact';
  if (identity.type === 'matchExact')
    return sameRepo && parsed.tag === ref.tag && parsed.digest === ref.digest;
  // matchRepoDigestOrExact: a digest reference needs only the repository; a tag must match
  return sameRepo && (ref.digest !== undefined || parsed.tag === ref.tag);
}

/**
 * Why a payload whose signature verified does not vouch for `ref` at `manifestDigest` (malformed,
 * another digest, an identity `identity` rejects), or undefined when it does. Shared by sigstore
 * and GPG simple signing: both sign the same simple-signing payload.
 */
export function signedPayloadMismatch(
  payload: Uint8Array,
  manifestDigest: string,
  identity: SignedIdentity,
  ref: ImageReference,
): string | undefined {
  let parsed;
  try {
    parsed = parseSimpleSigningPayload(payload);
  } catch (err) {
    return `payload is malformed (${err instanceof Error ? err.message : String(err)})`;
  }
  if (parsed.manifestDigest !== manifestDigest)
    return `signature is for ${parsed.manifestDigest}, not ${manifestDigest}`;
  if (!identityMatches(identity, parsed.dockerReference, ref))
    return `signed identity ${JSON.stringify(parsed.dockerReference)} does not match`;
  return undefined;
}

function stripTagDigest(s: string): string {
  const r = parseImageReference(s);
  return `${r.registry}/${r.repository}`;
}

/**
 * Whether one of the cosign signatures verifies with one of `keys` (ECDSA/Ed25519/RSA over the
 * payload), names `manifestDigest` and an identity `identity` accepts. Returns the reason when not.
 */
export async function verifyCosign(
  client: RegistryClient,
  ref: ImageReference,
  manifestDigest: string,
  keys: readonly KeyObject[],
  identity: SignedIdentity,
  signal?: AbortSignal,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const sigs = await fetchCosignSignatures(client, ref, manifestDigest, signal);
  if (!sigs || sigs.layers.length === 0)
    return {
      ok: false,
      reason: `no sigstore signature found (tag ${cosignSignatureTag(manifestDigest)})`,
    };
  const reasons: string[] = [];
  for (const layer of sigs.layers) {
    const sig = layer.annotations[COSIGN_SIGNATURE_ANNOTATION];
    if (sig === undefined) continue;
    const payload = await client.getBlobBytes(ref, layer, MAX_PAYLOAD, signal);
    const signature = Buffer.from(sig, 'base64');
    const good = keys.some((k) => {
      try {
        return verify(k.asymmetricKeyType === 'ed25519' ? null : 'sha256', payload, k, signature);
      } catch {
        return false;
      }
    });
    if (!good) {
      reasons.push('signature does not verify with the trusted key(s)');
      continue;
    }
    const mismatch = signedPayloadMismatch(payload, manifestDigest, identity, ref);
    if (mismatch === undefined) return { ok: true };
    reasons.push(mismatch);
  }
  return {
    ok: false,
    reason:
      reasons.length > 0 ? reasons.join('; ') : 'no signature layer carries a cosign signature',
  };
}
