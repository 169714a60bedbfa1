import { chmod } from 'node:fs/promises';
import { NULL_LOGGER, type Logger } from '#src/lib/index.js';
import type { CredentialsLookup, RegistryCredentials } from './auth.js';
import { StagedRootfs } from './destination.js';
import { OciError } from './errors.js';
import {
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  parseImageConfig,
  parseManifestDocument,
  selectPlatform,
  type ImageConfig,
  type ImageManifest,
  type Platform,
} from './manifest.js';
import { MEDIA_TYPES } from './media-types.js';
import type { DecryptionKey, KeyUnwrapper } from './ocicrypt/index.js';
import type { PullProgressEvent } from './progress.js';
import { pullLayer } from './pull-layer.js';
import { pullSourcesOf, shortNameCandidates } from './pull-sources.js';
import {
  formatImageReference,
  manifestReferenceOf,
  parseImageReference,
  type ImageReference,
} from './reference.js';
import type { RegistriesConfig } from './registries-conf.js';
import { RegistryClient, type RetryPolicy } from './registry-client.js';
import { enforceSignaturePolicy, type SignaturePolicy } from './signature/index.js';
import type { UnpackOptions } from './unpack/index.js';

export interface PullImageOptions {
  /** Credentials for the image's registry, or a lookup by registry host. */
  readonly auth?: RegistryCredentials | CredentialsLookup | undefined;
  /** Signature policy; absent means accept anything (as image-rs without a policy). */
  readonly policy?: SignaturePolicy | undefined;
  /** Lookaside base URLs for `signedBy` GPG signatures, keyed by scope (`host/repo`, `host`, ``). */
  readonly signatureLookaside?: Readonly<Record<string, string>> | undefined;
  readonly decryptionKeys?: readonly DecryptionKey[] | undefined;
  readonly keyUnwrapper?: KeyUnwrapper | undefined;
  readonly insecureRegistries?: readonly string[] | undefined;
  readonly ca?: readonly string[] | undefined;
  readonly mirrors?: Readonly<Record<string, readonly string[]>> | undefined;
  /**
   * containers-registries.conf v2 (blocked prefixes, remapping, mirrors, plain HTTP); replaces
   * `mirrors`. Content is digest-checked whichever source serves it.
   */
  readonly registries?: RegistriesConfig | undefined;
  /**
   * The short name the reference was written as (`shortNameOf`), so `[aliases]` and
   * `unqualified-search-registries` of `registries` apply; undefined for a qualified name.
   */
  readonly shortName?: string | undefined;
  readonly platform?: Platform | undefined;
  readonly retry?: RetryPolicy | undefined;
  readonly preserveOwnership?: boolean | undefined;
  /** Applies layers' PAX xattrs (see UnpackOptions.setXattr); absent: recorded, not applied. */
  readonly setXattr?: UnpackOptions['setXattr'];
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((event: PullProgressEvent) => void) | undefined;
  readonly log?: Logger | undefined;
}

export interface PulledImage {
  readonly reference: string;
  /** Digest of what the reference resolved to (the index for multi-arch images). */
  readonly manifestDigest: string;
  /** Digest of the platform manifest whose layers were unpacked. */
  readonly imageDigest: string;
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
  readonly rootfs: string;
  readonly bytes: number;
}

export interface ResolvedManifest {
  readonly manifestDigest: string;
  readonly imageDigest: string;
  readonly manifest: ImageManifest;
}

/** The image manifest of `ref` for `platform` (through an index when the tag names one). */
export async function resolveManifest(
  client: RegistryClient,
  ref: ImageReference,
  platform: Platform | undefined,
  signal: AbortSignal | undefined,
): Promise<ResolvedManifest> {
  const top = await client.getManifest(ref, manifestReferenceOf(ref), MAX_MANIFEST_BYTES, signal);
  const doc = parseManifestDocument(top.bytes, top.contentType);
  if (doc.kind === 'manifest')
    return { manifestDigest: top.digest, imageDigest: top.digest, manifest: doc };
  const chosen = selectPlatform(doc, platform);
  const inner = await client.getManifest(ref, chosen.digest, MAX_MANIFEST_BYTES, signal);
  const manifest = parseManifestDocument(
    inner.bytes,
    inner.contentType,
    `manifest ${chosen.digest}`,
  );
  if (manifest.kind !== 'manifest')
    throw new OciError(
      'invalid_argument',
      'ERR_OCI_MANIFEST',
      `index entry ${chosen.digest} is itself an index`,
    );
  return { manifestDigest: top.digest, imageDigest: chosen.digest, manifest };
}

/** The first candidate name that resolves (a short name may stand for several). */
async function resolveCandidate(
  client: RegistryClient,
  candidates: readonly ImageReference[],
  opts: PullImageOptions,
): Promise<{ ref: ImageReference; resolved: ResolvedManifest }> {
  const reasons: string[] = [];
  for (const [i, ref] of candidates.entries()) {
    try {
      return { ref, resolved: await resolveManifest(client, ref, opts.platform, opts.signal) };
    } catch (err) {
      const next =
        i + 1 < candidates.length &&
        opts.signal?.aborted !== true &&
        err instanceof OciError &&
        ['ERR_OCI_NOT_FOUND', 'ERR_OCI_REGISTRY', 'ERR_OCI_BLOCKED'].includes(err.code);
      if (!next && reasons.length === 0) throw err;
      reasons.push(
        `${formatImageReference(ref)}: ${err instanceof Error ? err.message : String(err)}`,
      );
      if (!next)
        throw new OciError(
          err instanceof OciError ? err.kind : 'unavailable',
          err instanceof OciError ? err.code : 'ERR_OCI_REGISTRY',
          `no candidate of the short name resolved: ${reasons.join('; ')}`,
          { cause: err },
        );
    }
  }
  throw new OciError('invalid_argument', 'ERR_OCI_REFERENCE', 'no image name to pull');
}

function credentialsLookup(
  auth: PullImageOptions['auth'],
  registry: string,
): CredentialsLookup | undefined {
  if (auth === undefined) return undefined;
  if (typeof auth === 'function') return auth;
  return (r) => (r === registry ? auth : undefined);
}

/** A pull whose manifest is resolved and whose signature policy passed; layers not fetched yet. */
export interface PreparedPull {
  /** The name that resolved (a short name's candidate, else the reference given). */
  readonly reference: string;
  readonly manifestDigest: string;
  /** The platform manifest whose layers `unpack` fetches: what two pulls can share. */
  readonly imageDigest: string;
  readonly manifest: ImageManifest;
  /**
   * Fetches the config and every layer through the digest checks into `destDir` (which appears
   * only when all verified). `signal` replaces the options' signal (a shared pull outlives the
   * request that prepared it).
   */
  unpack(destDir: string, signal?: AbortSignal): Promise<PulledImage>;
}

/**
 * Resolves `reference` (registries.conf sources, short-name candidates, platform) and enforces
 * the signature policy for this name, without fetching layers.
 */
export async function preparePull(
  reference: string | ImageReference,
  opts: PullImageOptions = {},
): Promise<PreparedPull> {
  const started = Date.now();
  const named = typeof reference === 'string' ? parseImageReference(reference) : reference;
  const log = (opts.log ?? NULL_LOGGER).child({
    subsystem: 'oci',
    image: formatImageReference(named),
  });
  const conf = opts.registries;
  const client = new RegistryClient({
    credentials: credentialsLookup(opts.auth, named.registry),
    insecureRegistries: opts.insecureRegistries,
    ca: opts.ca,
    mirrors: opts.mirrors,
    sources: conf ? (r) => pullSourcesOf(conf, r) : undefined,
    retry: opts.retry,
    log,
  });
  const candidates =
    conf && opts.shortName !== undefined
      ? shortNameCandidates(conf, opts.shortName, named)
      : [named];
  const { ref, resolved } = await resolveCandidate(client, candidates, opts);
  if (opts.policy)
    await enforceSignaturePolicy(opts.policy, {
      reference: ref,
      manifestDigest: resolved.manifestDigest,
      client,
      lookaside: opts.signatureLookaside,
      ca: opts.ca,
      signal: opts.signal,
    });
  const { manifest } = resolved;
  if (
    manifest.config.mediaType !== MEDIA_TYPES.ociConfig &&
    manifest.config.mediaType !== MEDIA_TYPES.dockerConfig
  ) {
    throw new OciError(
      'invalid_argument',
      'ERR_OCI_MEDIA_TYPE',
      `config media type ${JSON.stringify(manifest.config.mediaType)} is not an image config`,
    );
  }
  return {
    reference: formatImageReference(ref),
    manifestDigest: resolved.manifestDigest,
    imageDigest: resolved.imageDigest,
    manifest,
    unpack: (destDir, signal) =>
      unpackResolved(client, ref, resolved, destDir, {
        ...opts,
        signal: signal ?? opts.signal,
        log,
        started,
      }),
  };
}

async function unpackResolved(
  client: RegistryClient,
  ref: ImageReference,
  resolved: ResolvedManifest,
  destDir: string,
  opts: PullImageOptions & { readonly log: Logger; readonly started: number },
): Promise<PulledImage> {
  const { manifest, manifestDigest } = resolved;
  const config = parseImageConfig(
    await client.getBlobBytes(ref, manifest.config, MAX_CONFIG_BYTES, opts.signal),
  );
  if (config.diffIds.length !== 0 && config.diffIds.length !== manifest.layers.length) {
    throw new OciError(
      'invalid_argument',
      'ERR_OCI_MANIFEST',
      `config lists ${String(config.diffIds.length)} diff_ids for ${String(manifest.layers.length)} layers`,
    );
  }
  const totalBytes = manifest.layers.reduce((n, l) => n + l.size, 0);
  opts.onProgress?.({
    type: 'resolved',
    reference: formatImageReference(ref),
    manifestDigest,
    layers: manifest.layers.length,
    totalBytes,
  });
  const staged = await StagedRootfs.create(destDir);
  let bytes = 0;
  try {
    await chmod(staged.staging, 0o755);
    for (const [i, desc] of manifest.layers.entries())
      bytes += await pullLayer(client, ref, desc, i, config.diffIds[i], staged.staging, opts);
    await staged.commit();
  } finally {
    await staged.discard();
  }
  const ms = Date.now() - opts.started;
  opts.onProgress?.({ type: 'done', manifestDigest, bytes, ms });
  opts.log.info('image pulled', { manifest_digest: manifestDigest, bytes, ms });
  return {
    reference: formatImageReference(ref),
    manifestDigest,
    imageDigest: resolved.imageDigest,
    manifest,
    config,
    rootfs: staged.dest,
    bytes,
  };
}

/**
 * Pulls `reference` into `destDir`: manifest (platform picked from an index), signature policy,
 * config, then each layer streamed from the network through digest checks, decryption and
 * decompression onto disk. The rootfs appears at `destDir` only when everything verified.
 */
export async function pullImage(
  reference: string | ImageReference,
  destDir: string,
  opts: PullImageOptions = {},
): Promise<PulledImage> {
  return (await preparePull(reference, opts)).unpack(destDir);
}
