import type { Secret } from '#src/lib/index.js';
import { OciError } from './errors.js';
import { readBody, sendHttp } from './http-transport.js';

/** Credentials for one registry (a `--creds USER:PASS` or a docker config entry). */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: Secret<string>;
}

/** Looks up credentials for a registry host (`127.0.0.1:5000`, `docker.io`). */
export type CredentialsLookup = (registry: string) => RegistryCredentials | undefined;

export interface AuthChallenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` (first challenge only). */
export function parseAuthChallenge(header: string): AuthChallenge | undefined {
  const m = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(header);
  if (!m?.[1]) return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  const rest = m[2] ?? '';
  let p: RegExpExecArray | null;
  while ((p = re.exec(rest)) !== null && p[0] !== '') {
    const key = p[1]?.toLowerCase();
    if (key !== undefined) params[key] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: m[1].toLowerCase(), params };
}

export function basicAuthorization(creds: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password.reveal()}`).toString('base64')}`;
}

export function notAuthorized(registry: string, repository: string, detail: string): OciError {
  return new OciError(
    'unauthenticated',
    'ERR_OCI_UNAUTHORIZED',
    `Not authorized: ${registry} refused access to ${repository} (${detail}); check the credentials (--creds USER:PASS)`,
  );
}

interface CachedToken {
  readonly header: string;
  readonly expiresAt: number;
}

const MAX_TOKEN_RESPONSE = 1 << 20;

export interface AuthenticatorOptions {
  readonly credentials?: CredentialsLookup | undefined;
  readonly ca?: readonly string[] | undefined;
  readonly now?: (() => number) | undefined;
}

/**
 * Answers registry 401 challenges: Basic with the registry's credentials, Bearer by fetching a
 * token from the realm (with the credentials when there are some, anonymously otherwise), cached
 * per host and scope until it expires.
 */
export class Authenticator {
  readonly #credentials: CredentialsLookup;
  readonly #ca: readonly string[] | undefined;
  readonly #now: () => number;
  readonly #cache = new Map<string, CachedToken>();

  constructor(options: AuthenticatorOptions = {}) {
    this.#credentials = options.credentials ?? (() => undefined);
    this.#ca = options.ca;
    this.#now = options.now ?? Date.now;
  }

  /** The Authorization header already known for this host and scope, if any. */
  cached(host: string, scope: string): string | undefined {
    const hit = this.#cache.get(`${host} ${scope}`);
    if (hit === undefined || hit.expiresAt <= this.#now()) return undefined;
    return hit.header;
  }

  /** The Authorization header that answers `challenge`; throws `Not authorized` when none can. */
  async respond(
    registry: string,
    host: string,
    repository: string,
    scope: string,
    challengeHeader: string,
    signal?: AbortSignal,
  ): Promise<string> {
    const challenge = parseAuthChallenge(challengeHeader);
    const creds = this.#credentials(registry);
    if (challenge?.scheme === 'basic') {
      if (!creds)
        throw notAuthorized(
          registry,
          repository,
          'the registry wants credentials and none were given',
        );
      const header = basicAuthorization(creds);
      this.#cache.set(`${host} ${scope}`, { header, expiresAt: Number.POSITIVE_INFINITY });
      return header;
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params['realm']) {
      throw notAuthorized(
        registry,
        repository,
        `unsupported challenge ${JSON.stringify(challengeHeader.slice(0, 100))}`,
      );
    }
    const token = await this.#fetchToken(registry, repository, challenge, scope, creds, signal);
    this.#cache.set(`${host} ${scope}`, token);
    return token.header;
  }

  async #fetchToken(
    registry: string,
    repository: string,
    challenge: AuthChallenge,
    scope: string,
    creds: RegistryCredentials | undefined,
    signal: AbortSignal | undefined,
  ): Promise<CachedToken> {
    const realm = new URL(challenge.params['realm'] ?? '');
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
      throw notAuthorized(registry, repository, `token realm ${realm.href} is not http(s)`);
    }
    if (challenge.params['service']) realm.searchParams.set('service', challenge.params['service']);
    realm.searchParams.set('scope', challenge.params['scope'] ?? scope);
    const res = await sendHttp({
      url: realm,
      headers: creds ? { authorization: basicAuthorization(creds) } : {},
      ca: this.#ca,
      signal,
    });
    const body = await readBody(res, MAX_TOKEN_RESPONSE, 'token response');
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw notAuthorized(
        registry,
        repository,
        `token server ${realm.host} answered ${String(res.statusCode)}`,
      );
    }
    if (res.statusCode !== 200) {
      throw new OciError(
        'unavailable',
        'ERR_OCI_REGISTRY',
        `token server ${realm.host} answered ${String(res.statusCode)}`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const o = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<
      string,
      unknown
    >;
    const token = typeof o['token'] === 'string' ? o['token'] : o['access_token'];
    if (typeof token !== 'string' || token === '') {
      throw notAuthorized(registry, repository, `token server ${realm.host} returned no token`);
    }
    const expiresIn =
      typeof o['expires_in'] === 'number' && o['expires_in'] > 0 ? o['expires_in'] : 60;
    return {
      header: `Bearer ${token}`,
      expiresAt: this.#now() + Math.max(0, expiresIn - 5) * 1000,
    };
  }
}
