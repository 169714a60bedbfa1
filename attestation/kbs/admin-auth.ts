import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { base64urlDecode } from '#src/lib/index.js';
import { KbsError } from './errors.js';

const CLOCK_SKEW_S = 60;

function deny(why: string): KbsError {
  return new KbsError(
    'unauthenticated',
    'ERR_KBS_ADMIN_AUTH',
    `admin authentication failed: ${why}`,
  );
}

/**
 * One rule of Trustee's regex ACL: tokens whose `role` claim is `role` may use the admin endpoints
 * whose request path matches `allowedEndpoints`, a regex anchored `^/kbs…$`.
 */
export interface AdminAclRule {
  readonly role: string;
  readonly allowedEndpoints: string;
}

function compileAcl(rules: readonly AdminAclRule[]): { role: string; re: RegExp }[] {
  return rules.map((r, i) => {
    if (!r.allowedEndpoints.startsWith('^/kbs') || !r.allowedEndpoints.endsWith('$'))
      throw new KbsError(
        'invalid_argument',
        'ERR_KBS_ADMIN_AUTH',
        `admin acl[${String(i)}].allowed_endpoints must be anchored: start with ^/kbs and end with $`,
      );
    try {
      return { role: r.role, re: new RegExp(r.allowedEndpoints) };
    } catch (err) {
      throw new KbsError(
        'invalid_argument',
        'ERR_KBS_ADMIN_AUTH',
        `admin acl[${String(i)}].allowed_endpoints is not a regular expression`,
        { cause: err },
      );
    }
  });
}

/**
 * Trustee's admin authentication: `Authorization: Bearer <JWT>` signed with the admin's Ed25519
 * private key (`alg: EdDSA`), verified with the configured admin public key; `exp` is required.
 * Authorization per endpoint, as Trustee's regex ACL: without rules every authenticated token may use
 * every admin endpoint; with rules the token's `role` claim must have a rule matching the path.
 */
export class AdminAuth {
  readonly #key: KeyObject | undefined;
  readonly #now: () => number;
  readonly #acl: { role: string; re: RegExp }[] | undefined;

  constructor(
    publicKeyPem: string | undefined,
    now: () => number = Date.now,
    acl?: readonly AdminAclRule[],
  ) {
    this.#acl = acl && acl.length > 0 ? compileAcl(acl) : undefined;
    if (publicKeyPem !== undefined) {
      const key = createPublicKey(publicKeyPem);
      if (key.asymmetricKeyType !== 'ed25519')
        throw new KbsError(
          'invalid_argument',
          'ERR_KBS_ADMIN_AUTH',
          'admin public key: expected an Ed25519 public key (PEM)',
        );
      this.#key = key;
    }
    this.#now = now;
  }

  get enabled(): boolean {
    return this.#key !== undefined;
  }

  /** Authenticates the token and authorizes it for `path` (e.g. `/kbs/v0/resource/a/b/c`). */
  check(authorization: string | undefined, path: string): void {
    const claims = this.#authenticate(authorization);
    if (!this.#acl) return;
    const role = claims.role;
    if (typeof role !== 'string')
      throw deny('token has no role claim (the admin ACL requires one)');
    if (!this.#acl.some((r) => r.role === role && r.re.test(path)))
      throw deny(`role ${JSON.stringify(role.slice(0, 64))} may not use ${path.slice(0, 200)}`);
  }

  #authenticate(authorization: string | undefined): { role?: unknown } {
    if (!this.#key) throw deny('the admin API is disabled (no admin public key configured)');
    const m = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(
      authorization ?? '',
    );
    if (!m) throw deny('expected Authorization: Bearer <JWT>');
    const [, h = '', p = '', s = ''] = m;
    let header: unknown;
    let payload: unknown;
    try {
      header = JSON.parse(Buffer.from(base64urlDecode(h)).toString('utf8'));
      payload = JSON.parse(Buffer.from(base64urlDecode(p)).toString('utf8'));
    } catch {
      throw deny('token is not a JWT');
    }
    if (
      typeof header !== 'object' ||
      header === null ||
      (header as { alg?: unknown }).alg !== 'EdDSA'
    )
      throw deny('token alg must be EdDSA');
    if (
      !verify(null, Buffer.from(`${h}.${p}`, 'ascii'), this.#key, Buffer.from(base64urlDecode(s)))
    )
      throw deny('bad signature');
    const claims = (typeof payload === 'object' && payload !== null ? payload : {}) as {
      exp?: unknown;
      nbf?: unknown;
      role?: unknown;
    };
    const now = this.#now() / 1000;
    if (typeof claims.exp !== 'number') throw deny('token has no exp');
    if (now > claims.exp + CLOCK_SKEW_S) throw deny('token expired');
    if (typeof claims.nbf === 'number' && now + CLOCK_SKEW_S < claims.nbf)
      throw deny('token not yet valid');
    return claims;
  }
}
