import { NULL_LOGGER, Secret, type Logger } from '#src/lib/index.js';
import { KbsClient, KbsProtocolError, type KbsInitData } from '#src/protocol/kbs/index.js';
import type { Attester } from '#guest/attester/index.js';
import { GuestKbsError } from './errors.js';
import { parseResourceUri } from './resource-uri.js';

export interface GuestKbsClientOptions {
  /** KBS base URL (`aa.toml` `[token_configs.kbs] url`). */
  readonly url: string;
  /** PEM CA bundle for https KBS (`cert`). */
  readonly caPem?: string | undefined;
  readonly attester: Attester;
  /** The initdata TOML this guest started with; sent as `init-data` on every attestation. */
  readonly initDataToml?: string | undefined;
  readonly keyKind?: 'ec' | 'rsa' | undefined;
  /** Refresh the token this many seconds before `exp` (default 30). */
  readonly refreshMarginSeconds?: number | undefined;
  readonly timeoutMs?: number | undefined;
  readonly now?: (() => number) | undefined;
  readonly log?: Logger | undefined;
}

export interface CallSignal {
  readonly signal?: AbortSignal | undefined;
}

interface CachedToken {
  readonly token: Secret<string>;
  readonly expiresAtMs: number;
}

const FALLBACK_TTL_MS = 5 * 60_000;

/** The `exp` claim (ms) of a JWT, or undefined when it has none. */
export function tokenExpiry(token: string): number | undefined {
  const part = token.split('.')[1];
  if (part === undefined) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    const exp =
      typeof payload === 'object' && payload !== null
        ? (payload as Record<string, unknown>)['exp']
        : undefined;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The guest's KBS client: attests through the Attester (RCAR 0.4.0 via `src/protocol/kbs`),
 * caches the EAR token until shortly before it expires, fetches JWE-wrapped resources, and on a
 * 401 re-attests once before failing with a clear error. Attestations are serialised.
 */
export class GuestKbsClient {
  readonly #o: GuestKbsClientOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  #kbs: KbsClient | undefined;
  #cached: CachedToken | undefined;
  #inflight: Promise<CachedToken> | undefined;

  constructor(options: GuestKbsClientOptions) {
    this.#o = options;
    this.#log = (options.log ?? NULL_LOGGER).child({ subsystem: 'kbs-client' });
    this.#now = options.now ?? Date.now;
  }

  get tee(): Attester['tee'] {
    return this.#o.attester.tee;
  }

  /** A valid EAR token, attesting when none is cached or it is about to expire. */
  async getToken(opts: CallSignal = {}): Promise<string> {
    const margin = (this.#o.refreshMarginSeconds ?? 30) * 1000;
    const c = this.#cached;
    if (c && c.expiresAtMs - margin > this.#now()) return c.token.reveal();
    return (await this.#attest(opts)).token.reveal();
  }

  /** Drops the cached token and session (next call attests afresh). */
  invalidate(): void {
    this.#cached = undefined;
    this.#kbs = undefined;
  }

  /** Fetches `kbs:///repo/type/tag` (or `repo/type/tag`) and decrypts it with the session key. */
  async getResource(uri: string, opts: CallSignal = {}): Promise<Uint8Array> {
    const path = parseResourceUri(uri);
    await this.getToken(opts);
    try {
      return await this.#fetch(path, opts);
    } catch (err) {
      if (!(err instanceof KbsProtocolError) || err.status !== 401 || err.variant === 'PolicyDeny')
        throw this.#resourceError(path, err);
      this.#log.info('resource refused, re-attesting', { resource: path, variant: err.variant });
    }
    this.invalidate();
    await this.#attest(opts);
    try {
      return await this.#fetch(path, opts);
    } catch (err) {
      throw this.#resourceError(path, err, true);
    }
  }

  #fetch(path: string, opts: CallSignal): Promise<Uint8Array> {
    const kbs = this.#kbs;
    if (!kbs)
      throw new GuestKbsError(
        'failed_precondition',
        'ERR_GUEST_KBS_ATTEST',
        `cannot get ${path}: not attested`,
      );
    return kbs.getResource(path, { signal: opts.signal });
  }

  #attest(opts: CallSignal): Promise<CachedToken> {
    this.#inflight ??= this.#attestOnce(opts).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #attestOnce(opts: CallSignal): Promise<CachedToken> {
    const kbs = new KbsClient({
      url: this.#o.url,
      caPem: this.#o.caPem,
      timeoutMs: this.#o.timeoutMs,
    });
    const initData: KbsInitData | undefined =
      this.#o.initDataToml === undefined
        ? undefined
        : { format: 'toml', body: this.#o.initDataToml };
    try {
      const r = await kbs.attest(this.#o.attester, {
        initData,
        keyKind: this.#o.keyKind,
        signal: opts.signal,
      });
      const exp = tokenExpiry(r.token) ?? this.#now() + FALLBACK_TTL_MS;
      this.#kbs = kbs;
      this.#cached = { token: new Secret(r.token), expiresAtMs: exp };
      this.#log.info('attested', {
        tee: this.#o.attester.tee,
        expires_in_s: Math.round((exp - this.#now()) / 1000),
      });
      return this.#cached;
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      this.#log.warn('attestation failed', { tee: this.#o.attester.tee, error: detail });
      if (err instanceof KbsProtocolError && err.status !== undefined)
        throw new GuestKbsError(
          'permission_denied',
          'ERR_GUEST_KBS_ATTEST',
          `attestation to ${this.#o.url} as ${this.#o.attester.tee} failed: ${detail}`,
          { cause: err },
        );
      throw err instanceof Error ? err : new Error(detail);
    }
  }

  #resourceError(path: string, err: unknown, retried = false): Error {
    if (!(err instanceof KbsProtocolError) || err.status === undefined)
      return err instanceof Error ? err : new Error(String(err));
    const detail = err.message;
    if (err.status === 404)
      return new GuestKbsError(
        'not_found',
        'ERR_GUEST_KBS_NOT_FOUND',
        `kbs resource ${path} not found`,
        { cause: err },
      );
    if (err.status === 403 || err.variant === 'PolicyDeny')
      return new GuestKbsError(
        'permission_denied',
        'ERR_GUEST_KBS_DENIED',
        `kbs resource ${path} denied by the kbs resource policy`,
        { cause: err },
      );
    if (err.status === 401)
      return new GuestKbsError(
        'unauthenticated',
        'ERR_GUEST_KBS_UNAUTHORIZED',
        `kbs resource ${path}: still unauthorized after ${retried ? 're-attesting' : 'attesting'} (${err.variant ?? 'no variant'}); check the kbs attestation policy and this guest's evidence`,
        { cause: err },
      );
    return new GuestKbsError(
      'unavailable',
      'ERR_GUEST_KBS_RESOURCE',
      `kbs resource ${path}: ${detail}`,
      { cause: err },
    );
  }
}
