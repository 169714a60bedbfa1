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
 * Trustee's admin authentication: `Authorization: Bearer <JWT>` signed with the admin's Ed25519
 * private key (`alg: EdDSA`), verified with the configured admin public key; `exp` is required.
 */
export class AdminAuth {
  readonly #key: KeyObject | undefined;
  readonly #now: () => number;

  constructor(publicKeyPem: string | undefined, now: () => number = Date.now) {
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

  check(authorization: string | undefined): void {
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
    };
    const now = this.#now() / 1000;
    if (typeof claims.exp !== 'number') throw deny('token has no exp');
    if (now > claims.exp + CLOCK_SKEW_S) throw deny('token expired');
    if (typeof claims.nbf === 'number' && now + CLOCK_SKEW_S < claims.nbf)
      throw deny('token not yet valid');
  }
}
