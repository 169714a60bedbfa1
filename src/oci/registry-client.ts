import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { NULL_LOGGER, sleep, throwIfAborted, type Logger } from '#src/lib/index.js';
import { Authenticator, notAuthorized, type CredentialsLookup } from './auth.js';
import { digestMismatch, digestOf, parseDigest } from './digest-stream.js';
import { OciError, isOciError } from './errors.js';
import { isTransientNetworkError, readBody, sendHttp } from './http-transport.js';
import { combinedFailure, statusError, toRegistryError } from './registry-errors.js';
import type { Descriptor } from './manifest.js';
import { MANIFEST_ACCEPT } from './media-types.js';
import type { PullSource } from './pull-sources.js';
import { DOCKER_HUB, DOCKER_HUB_API_HOST, type ImageReference } from './reference.js';

export interface RetryPolicy {
  /** Tries per request (and per blob without progress) before giving up. */
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, initialDelayMs: 200, maxDelayMs: 5_000 };

export interface RegistryClientOptions {
  readonly credentials?: CredentialsLookup | undefined;
  /** Hosts (`host:port`) spoken to over plain HTTP. */
  readonly insecureRegistries?: readonly string[] | undefined;
  /** Extra trusted CA certificates (PEM) for TLS registries and token servers. */
  readonly ca?: readonly string[] | undefined;
  /** Mirrors tried in order before the registry itself, keyed by registry host. */
  readonly mirrors?: Readonly<Record<string, readonly string[]>> | undefined;
  /**
   * Where an image is fetched from, in order (registries.conf: mirrors, then the remapped
   * registry; see `pullSourcesOf`). Replaces `mirrors`. May throw (a blocked prefix).
   */
  readonly sources?: ((ref: ImageReference) => readonly PullSource[]) | undefined;
  readonly retry?: RetryPolicy | undefined;
  readonly idleTimeoutMs?: number | undefined;
  readonly log?: Logger | undefined;
}

export interface FetchedManifest {
  readonly bytes: Buffer;
  readonly contentType: string | undefined;
  /** Digest of the bytes as received (sha256 unless the reference pinned sha512). */
  readonly digest: string;
}

interface Endpoint {
  /** `host:port` spoken to (Docker Hub's API host for docker.io). */
  readonly host: string;
  readonly base: string;
  /** The registry name credentials are looked up by (a mirror's own, never the origin's). */
  readonly registry: string;
  readonly repository: string;
  readonly mirror: boolean;
}

/** The OCI distribution API, read side: manifests and blobs with auth, mirrors, retries, resume. */
export class RegistryClient {
  readonly #opts: RegistryClientOptions;
  readonly #auth: Authenticator;
  readonly #retry: RetryPolicy;
  readonly #log: Logger;
  /** The endpoint that answered the manifest, per registry, tried first for its blobs. */
  readonly #preferred = new Map<string, Endpoint>();

  constructor(options: RegistryClientOptions = {}) {
    this.#opts = options;
    this.#auth = new Authenticator({ credentials: options.credentials, ca: options.ca });
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#log = options.log ?? NULL_LOGGER;
  }

  #endpoints(ref: ImageReference): Endpoint[] {
    const sources: readonly PullSource[] = this.#opts.sources
      ? this.#opts.sources(ref)
      : [
          ...(this.#opts.mirrors?.[ref.registry] ?? []).map((h) => ({
            reference: { ...ref, registry: h.replace(/^https?:\/\//, '').replace(/\/+$/, '') },
            insecure: h.startsWith('http://'),
            mirror: true,
          })),
          { reference: ref, insecure: false, mirror: false },
        ];
    const list = sources.map((src) => {
      const registry = src.reference.registry;
      const host = registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
      const insecure = src.insecure || (this.#opts.insecureRegistries ?? []).includes(host);
      return {
        host,
        base: `${insecure ? 'http' : 'https'}://${host}`,
        registry,
        repository: src.reference.repository,
        mirror: src.mirror,
      };
    });
    const pref = this.#preferred.get(preferredKey(ref));
    const same = (a: Endpoint, b: Endpoint): boolean =>
      a.base === b.base && a.repository === b.repository;
    return pref && list.some((e) => same(e, pref))
      ? [pref, ...list.filter((e) => !same(e, pref))]
      : list;
  }

  /** One request with auth challenges answered and transient failures retried. */
  async #request(
    endpoint: Endpoint,
    path: string,
    headers: OutgoingHttpHeaders,
    signal: AbortSignal | undefined,
  ): Promise<IncomingMessage> {
    const scope = `repository:${endpoint.repository}:pull`;
    let delay = this.#retry.initialDelayMs;
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(signal, `pull from ${endpoint.host}`);
      try {
        const res = await this.#authorized(endpoint, path, headers, scope, signal);
        const status = res.statusCode ?? 0;
        if ((status >= 500 || status === 429) && attempt < this.#retry.attempts) {
          res.resume();
          this.#log.debug('registry retry', { host: endpoint.host, status, attempt });
        } else return res;
      } catch (err) {
        if (!isTransientNetworkError(err) || attempt >= this.#retry.attempts || signal?.aborted)
          throw toRegistryError(err, endpoint.host);
        this.#log.debug('registry retry', { host: endpoint.host, error: String(err), attempt });
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, this.#retry.maxDelayMs);
    }
  }

  async #authorized(
    endpoint: Endpoint,
    path: string,
    headers: OutgoingHttpHeaders,
    scope: string,
    signal: AbortSignal | undefined,
  ): Promise<IncomingMessage> {
    const url = new URL(`${endpoint.base}/v2/${endpoint.repository}/${path}`);
    let authorization = this.#auth.cached(endpoint.host, scope);
    for (let round = 0; ; round++) {
      const res = await sendHttp({
        url,
        headers: { ...headers, ...(authorization ? { authorization } : {}) },
        ca: this.#opts.ca,
        signal,
        idleTimeoutMs: this.#opts.idleTimeoutMs,
      });
      if (res.statusCode !== 401) return res;
      res.resume();
      const challenge = res.headers['www-authenticate'];
      if (round > 0 || challenge === undefined) {
        throw notAuthorized(
          endpoint.registry,
          endpoint.repository,
          authorization ? 'credentials rejected' : 'no challenge offered',
        );
      }
      authorization = await this.#auth.respond(
        endpoint.registry,
        endpoint.host,
        endpoint.repository,
        scope,
        challenge,
        signal,
      );
    }
  }

  /**
   * GETs a manifest or index by tag or digest, digest-checked when pinned, size-limited. Each
   * source is tried in order; a mirror that fails (unreachable, missing, refusing, or serving
   * bytes of the wrong digest) is passed over, and when all fail every reason is reported.
   */
  async getManifest(
    ref: ImageReference,
    reference: string,
    limit: number,
    signal?: AbortSignal,
  ): Promise<FetchedManifest> {
    const endpoints = this.#endpoints(ref);
    const failures: { endpoint: Endpoint; err: unknown }[] = [];
    for (const endpoint of endpoints) {
      try {
        const got = await this.#manifestFrom(endpoint, reference, limit, signal);
        this.#preferred.set(preferredKey(ref), endpoint);
        return got;
      } catch (err) {
        if (signal?.aborted) throw err;
        // the registry itself refusing credentials or serving wrong bytes is final
        if (
          !endpoint.mirror &&
          (isOciError(err, 'ERR_OCI_UNAUTHORIZED') || isOciError(err, 'ERR_OCI_DIGEST_MISMATCH'))
        )
          throw err;
        failures.push({ endpoint, err });
        this.#log.debug('endpoint failed', { host: endpoint.host, error: String(err) });
      }
    }
    throw combinedFailure(failures, `manifest ${ref.repository}:${reference}`);
  }

  async #manifestFrom(
    endpoint: Endpoint,
    reference: string,
    limit: number,
    signal: AbortSignal | undefined,
  ): Promise<FetchedManifest> {
    const what = `manifest ${endpoint.repository}:${reference}`;
    const res = await this.#request(
      endpoint,
      `manifests/${reference}`,
      { accept: MANIFEST_ACCEPT },
      signal,
    );
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      res.resume();
      throw statusError(status, what, endpoint.host);
    }
    const bytes = await readBody(res, limit, `manifest ${endpoint.repository}@${reference}`);
    const pinned = reference.includes(':') ? parseDigest(reference) : undefined;
    const digest = digestOf(bytes, pinned?.algorithm ?? 'sha256');
    if (pinned && digest !== reference)
      throw digestMismatch(
        `manifest ${endpoint.repository} from ${endpoint.host}`,
        reference,
        digest,
      );
    return { bytes, contentType: res.headers['content-type'], digest };
  }

  /** A small blob (config, signature payload) read whole, size-limited and digest-checked. */
  async getBlobBytes(
    ref: ImageReference,
    desc: Descriptor,
    limit: number,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    if (desc.size > limit) {
      throw new OciError(
        'resource_exhausted',
        'ERR_OCI_TOO_LARGE',
        `blob ${desc.digest} is ${String(desc.size)} bytes, more than the ${String(limit)} allowed`,
      );
    }
    const chunks: Buffer[] = [];
    for await (const chunk of this.openBlob(ref, desc, signal)) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    const actual = digestOf(bytes, parseDigest(desc.digest).algorithm);
    if (actual !== desc.digest) throw digestMismatch(`blob ${desc.digest}`, desc.digest, actual);
    return bytes;
  }

  /**
   * The raw blob bytes as a stream (NOT digest-checked: pipe through DigestVerifier). A connection
   * dropped mid-blob is resumed with a Range request from the last byte received.
   */
  openBlob(ref: ImageReference, desc: Descriptor, signal?: AbortSignal): Readable {
    return Readable.from(this.#blobChunks(ref, desc, signal), { objectMode: false });
  }

  /** GETs the blob from `offset` on, falling through the endpoints on 404 or unreachable. */
  async #openAt(
    desc: Descriptor,
    endpoints: readonly Endpoint[],
    first: number,
    offset: number,
    signal: AbortSignal | undefined,
  ): Promise<{ res: IncomingMessage; skip: number; index: number; host: string }> {
    for (let ei = first; ; ei++) {
      const endpoint = endpoints[ei];
      if (endpoint === undefined)
        throw new OciError('unavailable', 'ERR_OCI_REGISTRY', 'no registry endpoint');
      const last = ei + 1 >= endpoints.length;
      let res: IncomingMessage;
      try {
        const headers = offset > 0 ? { range: `bytes=${String(offset)}-` } : {};
        res = await this.#request(endpoint, `blobs/${desc.digest}`, headers, signal);
      } catch (err) {
        if (!isOciError(err, 'ERR_OCI_REGISTRY') || last) throw err;
        continue;
      }
      const status = res.statusCode ?? 0;
      const found = { res, index: ei, host: endpoint.host };
      if (status === 404 && !last) {
        res.resume();
        continue;
      }
      // a server that ignores Range resends from byte 0: skip what we already have
      if (status === 200) return { ...found, skip: offset };
      if (status !== 206 || offset === 0) {
        res.resume();
        throw statusError(status, `blob ${desc.digest}`, endpoint.host);
      }
      const start = /^bytes (\d+)-/.exec(res.headers['content-range'] ?? '')?.[1];
      if (Number(start) !== offset) {
        res.resume();
        throw new OciError(
          'unavailable',
          'ERR_OCI_REGISTRY',
          `${endpoint.host}: resumed blob ${desc.digest} at the wrong offset`,
        );
      }
      return { ...found, skip: 0 };
    }
  }

  async *#blobChunks(
    ref: ImageReference,
    desc: Descriptor,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Buffer> {
    const endpoints = this.#endpoints(ref);
    let offset = 0;
    let failures = 0;
    let delay = this.#retry.initialDelayMs;
    let index = 0;
    for (;;) {
      const opened = await this.#openAt(desc, endpoints, index, offset, signal);
      index = opened.index;
      let skip = opened.skip;
      const before = offset;
      try {
        for await (const raw of opened.res as AsyncIterable<Buffer>) {
          const chunk = skip > 0 ? raw.subarray(Math.min(skip, raw.length)) : raw;
          skip -= raw.length - chunk.length;
          if (chunk.length === 0) continue;
          offset += chunk.length;
          yield chunk;
        }
        if (offset >= desc.size) return;
        throw new OciError(
          'unavailable',
          'ERR_OCI_REGISTRY',
          `${opened.host}: blob ${desc.digest} ended after ${String(offset)} of ${String(desc.size)} bytes`,
        );
      } catch (err) {
        opened.res.destroy();
        if (signal?.aborted || !isTransientNetworkError(err))
          throw toRegistryError(err, opened.host);
        const progressed = offset > before;
        failures = progressed ? 1 : failures + 1;
        if (failures >= this.#retry.attempts) throw toRegistryError(err, opened.host);
        this.#log.info('blob resume', { digest: desc.digest, offset, attempt: failures });
        await sleep(progressed ? 0 : delay, signal);
        delay = progressed
          ? this.#retry.initialDelayMs
          : Math.min(delay * 2, this.#retry.maxDelayMs);
      }
    }
  }
}

function preferredKey(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}
