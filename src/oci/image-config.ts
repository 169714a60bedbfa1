import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { createDecompressor } from './decompress.js';
import { DigestVerifier } from './digest-stream.js';
import {
  MAX_CONFIG_BYTES,
  parseImageConfig,
  type Descriptor,
  type ImageConfig,
  type Platform,
} from './manifest.js';
import { layerFormatOf } from './media-types.js';
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

/** Largest file `readImageFile` returns. */
export const MAX_IMAGE_FILE_BYTES = 1 << 20;

function entryName(name: string): string {
  return name.replace(/^(\.\/|\/)+/, '');
}

/** The file at `path` in one layer: its bytes, `null` when the layer deletes it, else undefined. */
async function fileInLayer(
  client: RegistryClient,
  ref: ImageReference,
  desc: Descriptor,
  path: string,
  signal: AbortSignal | undefined,
): Promise<Buffer | null | undefined> {
  const format = layerFormatOf(desc.mediaType);
  if (format === undefined || format.encrypted) return undefined; // cannot look inside
  const slash = path.lastIndexOf('/');
  const whiteout = `${path.slice(0, slash + 1)}.wh.${path.slice(slash + 1)}`;
  const tar = extract();
  let found: Buffer | null | undefined;
  tar.on('entry', (header, stream, next) => {
    const name = entryName(header.name);
    const chunks: Buffer[] = [];
    let size = 0;
    const wanted = name === path && header.type === 'file';
    if (name === whiteout) found = null;
    stream.on('data', (c: unknown) => {
      if (!Buffer.isBuffer(c)) return;
      size += c.length;
      if (wanted && size <= MAX_IMAGE_FILE_BYTES) chunks.push(c);
    });
    stream.on('end', () => {
      if (wanted && size <= MAX_IMAGE_FILE_BYTES) found = Buffer.concat(chunks);
      next();
    });
    stream.resume();
  });
  await pipeline(
    [
      client.openBlob(ref, desc, signal),
      new DigestVerifier({ digest: desc.digest, size: desc.size, what: `layer ${desc.digest}` }),
      createDecompressor(format.compression),
      tar,
    ],
    signal ? { signal } : {},
  );
  return found;
}

/**
 * A file of the image's root filesystem (e.g. `etc/passwd`), read from the layers top-down without
 * unpacking them (digests verified); undefined when no readable layer has it.
 */
export async function readImageFile(
  client: RegistryClient,
  ref: ImageReference,
  path: string,
  o: { readonly platform?: Platform | undefined; readonly signal?: AbortSignal | undefined } = {},
): Promise<Buffer | undefined> {
  const r = await resolveManifest(client, ref, o.platform, o.signal);
  const want = entryName(path);
  for (const desc of [...r.manifest.layers].reverse()) {
    const f = await fileInLayer(client, ref, desc, want, o.signal);
    if (f === null) return undefined;
    if (f !== undefined) return f;
  }
  return undefined;
}
