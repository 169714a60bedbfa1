import type { JWTPayload } from 'jose';
import { NULL_LOGGER, isPlainObject, type Logger } from '#src/lib/index.js';
import {
  encryptToTeeKey,
  parseAttestation,
  parseKbsRequest,
  parseResourcePath,
  parseTeePubKey,
  type FlattenedJwe,
  type KbsChallenge,
  type TeePubKey,
} from '#src/protocol/kbs/index.js';
import type { AttestationService, PolicyEngine } from '../as/index.js';
import type { PolicyStore } from '../policy/index.js';
import { parseReferenceValue, type ReferenceValueStore } from '../rvps/index.js';
import type { KvStore } from '../store/index.js';
import { KbsError } from './errors.js';
import type { Session, SessionStore } from './session-store.js';

export interface KbsServices {
  readonly as: AttestationService;
  readonly sessions: SessionStore;
  readonly store: KvStore;
  readonly policies: PolicyStore;
  readonly referenceValues: ReferenceValueStore;
  readonly engine: PolicyEngine;
  readonly log?: Logger | undefined;
}

/** The RCAR and admin operations, independent of HTTP framing. */
export class KbsHandlers {
  readonly #s: KbsServices;
  readonly #log: Logger;

  constructor(services: KbsServices) {
    this.#s = services;
    this.#log = (services.log ?? NULL_LOGGER).child({ subsystem: 'kbs' });
  }

  auth(body: unknown): { session: Session; challenge: KbsChallenge } {
    const req = parseKbsRequest(body);
    const session = this.#s.sessions.create(req.tee);
    return { session, challenge: { nonce: session.nonce, extraParams: '' } };
  }

  async attest(sessionId: string | undefined, body: unknown, signal: AbortSignal): Promise<string> {
    const session = this.#s.sessions.get(sessionId);
    const att = parseAttestation(body);
    this.#s.sessions.beginAttest(session);
    try {
      if (att.runtimeData.nonce !== session.nonce)
        throw new KbsError(
          'unauthenticated',
          'ERR_KBS_NONCE_USED',
          'runtime-data.nonce is not the nonce of this session',
        );
      const out = await this.#s.as.attest({
        tee: session.tee,
        evidence: att.teeEvidence,
        runtimeData: att.runtimeData,
        initData: att.initData,
        signal,
      });
      session.state = 'attested';
      session.claims = out.claims;
      session.teePubkey = att.runtimeData.teePubkey;
      session.token = out.token;
      return out.token;
    } catch (err) {
      session.state = 'failed';
      throw err;
    }
  }

  /** Who is asking: the attested session, or a Bearer token issued by this service. */
  async caller(
    sessionId: string | undefined,
    authorization: string | undefined,
  ): Promise<{ claims: JWTPayload; teePubkey: TeePubKey }> {
    const bearer = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    if (bearer !== undefined) {
      const claims = await this.#s.as.verifyToken(bearer);
      return { claims, teePubkey: teePubkeyOf(claims) };
    }
    if (sessionId === undefined)
      throw new KbsError(
        'unauthenticated',
        'ERR_KBS_TOKEN_NOT_FOUND',
        'attestation token not found: attest first (cookie) or send Authorization: Bearer <token>',
      );
    const s = this.#s.sessions.get(sessionId);
    if (s.state !== 'attested' || !s.claims || !s.teePubkey)
      throw new KbsError(
        'unauthenticated',
        'ERR_KBS_TOKEN_NOT_FOUND',
        'attestation token not found: this session has not attested',
      );
    return { claims: s.claims, teePubkey: s.teePubkey };
  }

  async getResource(
    path: string,
    caller: { claims: JWTPayload; teePubkey: TeePubKey },
  ): Promise<FlattenedJwe> {
    const policy = await this.#s.policies.resourcePolicy();
    const r = this.#s.engine.evaluate(policy, 'resource', ['allow'], caller.claims, {
      'resource-path': path,
      plugin: 'resource',
    });
    if (r['allow'] !== true) {
      this.#log.info('resource denied by policy', { resource: path });
      throw new KbsError('permission_denied', 'ERR_KBS_POLICY_DENY', 'Access denied by policy');
    }
    const value = await this.#s.store.get('resources', path);
    if (!value)
      throw new KbsError('not_found', 'ERR_KBS_RESOURCE_NOT_FOUND', `resource ${path} not found`);
    this.#log.info('resource released', { resource: path });
    return encryptToTeeKey(caller.teePubkey, value);
  }

  async setResource(path: string, value: Uint8Array): Promise<void> {
    parseResourcePath(path);
    await this.#s.store.put('resources', path, value);
    this.#log.info('resource set', { resource: path, bytes: value.byteLength });
  }

  async listResources(): Promise<string[]> {
    return this.#s.store.list('resources');
  }

  async setAttestationPolicy(body: unknown): Promise<void> {
    const o = expectMembers(body, 'attestation policy', ['type', 'policy_id', 'policy']);
    if (o['type'] !== undefined && o['type'] !== 'rego')
      throw new KbsError(
        'invalid_argument',
        'ERR_KBS_BODY_INVALID',
        `attestation policy.type: only "rego" is supported, got ${JSON.stringify(o['type'])}`,
      );
    const id = o['policy_id'] ?? 'default';
    if (typeof id !== 'string')
      throw new KbsError(
        'invalid_argument',
        'ERR_KBS_BODY_INVALID',
        'attestation policy.policy_id: expected a string',
      );
    const text = base64Text(o['policy'], 'attestation policy.policy');
    this.#s.engine.validate(text, `attestation/${id}`);
    await this.#s.policies.setAttestationPolicy(id, text);
    this.#log.info('attestation policy set', { policy_id: id });
  }

  async setResourcePolicy(body: unknown): Promise<void> {
    const o = expectMembers(body, 'resource policy', ['policy']);
    const text = base64Text(o['policy'], 'resource policy.policy');
    this.#s.engine.validate(text, 'resource');
    await this.#s.policies.setResourcePolicy(text);
    this.#log.info('resource policy set', {});
  }

  async setReferenceValue(body: unknown): Promise<void> {
    const rv = parseReferenceValue(body);
    await this.#s.referenceValues.set(rv);
    this.#log.info('reference value set', { name: rv.name, values: rv.values.length });
  }
}

function expectMembers(
  body: unknown,
  what: string,
  allowed: readonly string[],
): Readonly<Record<string, unknown>> {
  if (!isPlainObject(body))
    throw new KbsError(
      'invalid_argument',
      'ERR_KBS_BODY_INVALID',
      `${what}: expected a JSON object`,
    );
  for (const k of Object.keys(body))
    if (!allowed.includes(k))
      throw new KbsError(
        'invalid_argument',
        'ERR_KBS_BODY_INVALID',
        `${what}.${k}: unknown member (allowed: ${allowed.join(', ')})`,
      );
  return body;
}

function base64Text(v: unknown, at: string): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v) || v.length === 0)
    throw new KbsError(
      'invalid_argument',
      'ERR_KBS_BODY_INVALID',
      `${at}: expected the policy text, base64 encoded`,
    );
  return Buffer.from(v, v.includes('-') || v.includes('_') ? 'base64url' : 'base64').toString(
    'utf8',
  );
}

/** The TEE key a token vouches for: `submods.cpu0["ear.veraison.annotated-evidence"].runtime_data_claims["tee-pubkey"]`. */
function teePubkeyOf(claims: JWTPayload): TeePubKey {
  const submods = claims['submods'];
  const cpu0 = isPlainObject(submods) ? submods['cpu0'] : undefined;
  const ev = isPlainObject(cpu0) ? cpu0['ear.veraison.annotated-evidence'] : undefined;
  const rd = isPlainObject(ev) ? ev['runtime_data_claims'] : undefined;
  const key = isPlainObject(rd) ? rd['tee-pubkey'] : undefined;
  if (key === undefined)
    throw new KbsError('unauthenticated', 'ERR_KBS_TOKEN_NOT_FOUND', 'token carries no tee-pubkey');
  return parseTeePubKey(key, 'token tee-pubkey');
}
