import {
  expectArray,
  expectInt,
  expectObject,
  expectString,
  isPlainObject,
  type JsonObject,
} from '#src/lib/index.js';
import { parseDigest } from './digest-stream.js';
import { OciError } from './errors.js';
import { MEDIA_TYPES } from './media-types.js';

/** Largest manifest, index or config we read into memory (containers/image uses 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 << 20;
export const MAX_CONFIG_BYTES = 8 << 20;

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string | undefined;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations: Readonly<Record<string, string>>;
  readonly platform?: Platform | undefined;
}

export interface ImageIndex {
  readonly kind: 'index';
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
}

export interface ImageManifest {
  readonly kind: 'manifest';
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations: Readonly<Record<string, string>>;
}

export interface ImageConfig {
  readonly architecture: string | undefined;
  readonly os: string | undefined;
  /** `rootfs.diff_ids`: digests of the uncompressed layer tars, in order. */
  readonly diffIds: readonly string[];
  /** The whole config object, for callers that need `config.Env`, `Cmd` … */
  readonly raw: JsonObject;
}

function manifestError(what: string, err: unknown): OciError {
  const text = err instanceof Error ? err.message : String(err);
  return new OciError('invalid_argument', 'ERR_OCI_MANIFEST', `${what}: ${text}`, { cause: err });
}

function parseJson(bytes: Uint8Array, what: string, limit: number): unknown {
  if (bytes.length > limit) {
    throw new OciError(
      'resource_exhausted',
      'ERR_OCI_TOO_LARGE',
      `${what} is ${String(bytes.length)} bytes, more than the ${String(limit)} allowed`,
    );
  }
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch (err) {
    throw manifestError(`${what} is not valid JSON`, err);
  }
}

function parseAnnotations(raw: unknown, at: string): Readonly<Record<string, string>> {
  if (raw === undefined || raw === null) return {};
  const o = expectObject(raw, at);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) out[k] = expectString(v, `${at}.${k}`);
  return out;
}

function parsePlatform(raw: unknown, at: string): Platform | undefined {
  if (raw === undefined) return undefined;
  const o = expectObject(raw, at);
  const variant = o['variant'];
  return {
    os: expectString(o['os'], `${at}.os`),
    architecture: expectString(o['architecture'], `${at}.architecture`),
    variant: variant === undefined ? undefined : expectString(variant, `${at}.variant`),
  };
}

export function parseDescriptor(raw: unknown, at: string): Descriptor {
  const o = expectObject(raw, at);
  const digest = expectString(o['digest'], `${at}.digest`);
  parseDigest(digest, `${at}.digest`);
  return {
    mediaType: expectString(o['mediaType'], `${at}.mediaType`),
    digest,
    size: expectInt(o['size'], `${at}.size`, { min: 0 }),
    annotations: parseAnnotations(o['annotations'], `${at}.annotations`),
    platform: parsePlatform(o['platform'], `${at}.platform`),
  };
}

/**
 * Parses a manifest or index. `contentType` (the registry's Content-Type) is used only when the
 * document has no `mediaType` of its own.
 */
export function parseManifestDocument(
  bytes: Uint8Array,
  contentType: string | undefined,
  what = 'manifest',
): ImageIndex | ImageManifest {
  const raw = parseJson(bytes, what, MAX_MANIFEST_BYTES);
  try {
    const o = expectObject(raw, what);
    if (o['schemaVersion'] !== 2)
      throw new Error(`schemaVersion must be 2, got ${JSON.stringify(o['schemaVersion'])}`);
    const mediaType =
      typeof o['mediaType'] === 'string'
        ? o['mediaType']
        : (contentType?.split(';')[0]?.trim() ?? '');
    const isIndex =
      mediaType === MEDIA_TYPES.ociIndex ||
      mediaType === MEDIA_TYPES.dockerList ||
      (mediaType === '' && Array.isArray(o['manifests']));
    if (isIndex) {
      const manifests = expectArray(o['manifests'], `${what}.manifests`).map((d, i) =>
        parseDescriptor(d, `${what}.manifests[${String(i)}]`),
      );
      return { kind: 'index', mediaType: mediaType || MEDIA_TYPES.ociIndex, manifests };
    }
    if (
      mediaType !== MEDIA_TYPES.ociManifest &&
      mediaType !== MEDIA_TYPES.dockerManifest &&
      mediaType !== ''
    ) {
      throw new Error(`unsupported manifest media type ${JSON.stringify(mediaType)}`);
    }
    return {
      kind: 'manifest',
      mediaType: mediaType || MEDIA_TYPES.ociManifest,
      config: parseDescriptor(o['config'], `${what}.config`),
      layers: expectArray(o['layers'], `${what}.layers`).map((d, i) =>
        parseDescriptor(d, `${what}.layers[${String(i)}]`),
      ),
      annotations: parseAnnotations(o['annotations'], `${what}.annotations`),
    };
  } catch (err) {
    if (err instanceof OciError) throw err;
    throw manifestError(`malformed ${what}`, err);
  }
}

export function parseImageConfig(bytes: Uint8Array, what = 'image config'): ImageConfig {
  const raw = parseJson(bytes, what, MAX_CONFIG_BYTES);
  try {
    const o = expectObject(raw, what);
    const rootfs = isPlainObject(o['rootfs']) ? o['rootfs'] : {};
    const diffIds = expectArray(rootfs['diff_ids'] ?? [], `${what}.rootfs.diff_ids`).map((d, i) => {
      const s = expectString(d, `${what}.rootfs.diff_ids[${String(i)}]`);
      parseDigest(s, `${what}.rootfs.diff_ids[${String(i)}]`);
      return s;
    });
    return {
      architecture: typeof o['architecture'] === 'string' ? o['architecture'] : undefined,
      os: typeof o['os'] === 'string' ? o['os'] : undefined,
      diffIds,
      raw: o,
    };
  } catch (err) {
    if (err instanceof OciError) throw err;
    throw manifestError(`malformed ${what}`, err);
  }
}

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

/** The index entry for `want` (exact variant when given; otherwise the first entry without a mismatch). */
export function selectPlatform(index: ImageIndex, want: Platform = DEFAULT_PLATFORM): Descriptor {
  const candidates = index.manifests.filter(
    (d) =>
      d.platform !== undefined &&
      d.platform.os === want.os &&
      d.platform.architecture === want.architecture &&
      (want.variant === undefined || d.platform.variant === want.variant),
  );
  const chosen = candidates[0];
  if (chosen === undefined) {
    const offered = index.manifests
      .map((d) =>
        d.platform
          ? `${d.platform.os}/${d.platform.architecture}${d.platform.variant ? `/${d.platform.variant}` : ''}`
          : '?',
      )
      .join(', ');
    throw new OciError(
      'not_found',
      'ERR_OCI_PLATFORM',
      `the image index has no manifest for ${want.os}/${want.architecture}${want.variant ? `/${want.variant}` : ''} (offered: ${offered || 'none'})`,
    );
  }
  return chosen;
}
