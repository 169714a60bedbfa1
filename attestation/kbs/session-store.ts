import { randomBytes, randomUUID } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { KbsTeeName, TeePubKey } from '#src/protocol/kbs/index.js';
import { KbsError } from './errors.js';

/** Trustee's session lifetime: 5 minutes from `POST /kbs/v0/auth`. */
export const SESSION_TTL_MS = 5 * 60 * 1000;
export const MAX_SESSIONS = 10_000;

export type SessionState = 'challenged' | 'attesting' | 'attested' | 'failed';

export interface Session {
  readonly id: string;
  readonly tee: KbsTeeName;
  readonly nonce: string;
  readonly expiresAt: number;
  state: SessionState;
  claims?: JWTPayload;
  teePubkey?: TeePubKey;
  token?: string;
}

/**
 * In-memory RCAR sessions keyed by the `kbs-session-id` cookie. A nonce is good for exactly one
 * attest call: the session leaves `challenged` before the evidence is verified, so a replay or a
 * concurrent second attempt fails.
 */
export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(
    opts: {
      now?: (() => number) | undefined;
      ttlMs?: number | undefined;
      max?: number | undefined;
    } = {},
  ) {
    this.#now = opts.now ?? Date.now;
    this.#ttlMs = opts.ttlMs ?? SESSION_TTL_MS;
    this.#max = opts.max ?? MAX_SESSIONS;
  }

  get size(): number {
    return this.#sessions.size;
  }

  create(tee: KbsTeeName): Session {
    if (this.#sessions.size >= this.#max) this.#sweep();
    if (this.#sessions.size >= this.#max)
      throw new KbsError(
        'resource_exhausted',
        'ERR_KBS_TOO_MANY_SESSIONS',
        `too many open sessions (${String(this.#max)}); retry later`,
      );
    const s: Session = {
      id: randomUUID(),
      tee,
      nonce: randomBytes(32).toString('base64'),
      expiresAt: this.#now() + this.#ttlMs,
      state: 'challenged',
    };
    this.#sessions.set(s.id, s);
    return s;
  }

  /** The live session for a cookie value; expired sessions are removed and reported as such. */
  get(id: string | undefined): Session {
    if (id === undefined)
      throw new KbsError(
        'unauthenticated',
        'ERR_KBS_COOKIE_NOT_FOUND',
        'no kbs-session-id cookie: POST /kbs/v0/auth first',
      );
    const s = this.#sessions.get(id);
    if (!s)
      throw new KbsError(
        'unauthenticated',
        'ERR_KBS_COOKIE_NOT_FOUND',
        'unknown kbs-session-id: POST /kbs/v0/auth first',
      );
    if (this.#now() >= s.expiresAt) {
      this.#sessions.delete(id);
      throw new KbsError(
        'unauthenticated',
        'ERR_KBS_SESSION_EXPIRED',
        'kbs session expired: POST /kbs/v0/auth again',
      );
    }
    return s;
  }

  /** Consumes the session's nonce; throws if it was already used. */
  beginAttest(s: Session): void {
    if (s.state !== 'challenged')
      throw new KbsError(
        'unauthenticated',
        'ERR_KBS_NONCE_USED',
        'the nonce of this session was already used: POST /kbs/v0/auth again',
      );
    s.state = 'attesting';
  }

  /** Sessions past their lifetime are dropped. */
  #sweep(): void {
    const now = this.#now();
    for (const [id, s] of this.#sessions) if (now >= s.expiresAt) this.#sessions.delete(id);
  }
}
