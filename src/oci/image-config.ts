import { MAX_CONFIG_BYTES, parseImageConfig, type ImageConfig, type Platform } from './manifest.js';
import { resolveManifest } from './pull-image.js';
import type { ImageReference } from './reference.js';
import type { RegistryClient } from './registry-client.js';

export interface FetchedImageConfig {
  /** Digest of the manifest the tag resolved to (an index for multi-platform images). */
  readonly manifestDigest: string;
  /** Digest of the platform's image manifest. */
  readonly imageDigest: string;
  readonly config: ImageConfig;
}

/**
 * Reads an image's config blob (Entrypoint, Cmd, Env, User, WorkingDir …) without its layers;
 * the blob digest is verified by the client.
 */
export async function fetchImageConfig(
  client: RegistryClient,
  ref: ImageReference,
  o: { readonly platform?: Platform | undefined; readonly signal?: AbortSignal | undefined } = {},
): Promise<FetchedImageConfig> {
  const r = await resolveManifest(client, ref, o.platform, o.signal);
  const bytes = await client.getBlobBytes(ref, r.manifest.config, MAX_CONFIG_BYTES, o.signal);
  return {
    manifestDigest: r.manifestDigest,
    imageDigest: r.imageDigest,
    config: parseImageConfig(bytes, `image config of ${ref.registry}/${ref.repository}`),
  };
}
