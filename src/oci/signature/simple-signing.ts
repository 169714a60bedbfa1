import { isPlainObject } from '#src/lib/index.js';

/** The parts of a "simple signing" payload (containers/image, cosign) a verifier checks. */
export interface SimpleSigningPayload {
  readonly dockerReference: string | undefined;
  readonly manifestDigest: string;
  readonly type: string;
}

/** Parses `{"critical":{"identity":{"docker-reference"},"image":{"docker-manifest-digest"},"type"}}`. */
export function parseSimpleSigningPayload(bytes: Uint8Array): SimpleSigningPayload {
  const v: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
  const critical = isPlainObject(v) ? v['critical'] : undefined;
  if (!isPlainObject(critical)) throw new Error('payload has no "critical" object');
  const image = critical['image'];
  const identity = critical['identity'];
  const digest = isPlainObject(image) ? image['docker-manifest-digest'] : undefined;
  if (typeof digest !== 'string')
    throw new Error('payload has no critical.image.docker-manifest-digest');
  const ref = isPlainObject(identity) ? identity['docker-reference'] : undefined;
  return {
    dockerReference: typeof ref === 'string' ? ref : undefined,
    manifestDigest: digest,
    type: typeof critical['type'] === 'string' ? critical['type'] : '',
  };
}

/** Builds a cosign-style payload (for signing tools and tests). */
export function encodeSimpleSigningPayload(
  dockerReference: string,
  manifestDigest: string,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': dockerReference },
        image: { 'docker-manifest-digest': manifestDigest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
}
