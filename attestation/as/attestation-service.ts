import type { JWTPayload } from 'jose';
import { NULL_LOGGER, toHex, type Logger } from '#src/lib/index.js';
import {
  computeReportData,
  runtimeDataToJson,
  type KbsInitData,
  type KbsTeeName,
  type RuntimeData,
} from '#src/protocol/kbs/index.js';
import { parseInitData } from '#src/tee/index.js';
import type { PolicyStore } from '../policy/index.js';
import type { ReferenceValueStore } from '../rvps/index.js';
import type { Claims, TeeKind, Verifier } from '../verifier/index.js';
import { AsError } from './errors.js';
import type { PolicyEngine } from './policy-engine.js';
import type { TokenSigner } from './token-signer.js';
import { TRUST_CLAIMS, earClaimName, statusOf, type TrustClaim } from './trust-vector.js';

export const EAR_PROFILE = 'tag:github.com,2024:confidential-containers/Trustee';
export const EAR_DEVELOPER = 'https://confidentialcontainers.org';
export const EAR_BUILD = 'kata-cc-as 0.1.0';
export const DEFAULT_TOKEN_TTL_SECONDS = 300;

export interface AttestationServiceOptions {
  /** The verifier for a TEE, or undefined when that TEE is not accepted. */
  readonly verifierFor: (tee: TeeKind) => Verifier | undefined;
  readonly policies: PolicyStore;
  readonly referenceValues: ReferenceValueStore;
  readonly engine: PolicyEngine;
  readonly signer: TokenSigner;
  readonly now?: (() => number) | undefined;
  readonly tokenTtlSeconds?: number | undefined;
  readonly log?: Logger | undefined;
  /** Benchmarks only: verify evidence without comparing report_data (real evidence has its own). */
  readonly skipReportDataBinding?: boolean | undefined;
}

export interface AttestRequest {
  readonly tee: KbsTeeName;
  readonly evidence: unknown;
  readonly runtimeData: RuntimeData;
  readonly initData?: KbsInitData | undefined;
  readonly policyId?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface AttestOutcome {
  readonly token: string;
  readonly claims: JWTPayload;
}

function isTeeKind(tee: string): tee is TeeKind {
  return tee === 'tdx' || tee === 'snp' || tee === 'sample';
}

/** Verifier → claims → attestation policy with reference values → signed EAR token. */
export class AttestationService {
  readonly #o: AttestationServiceOptions;
  readonly #now: () => number;
  readonly #log: Logger;

  constructor(options: AttestationServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#log = (options.log ?? NULL_LOGGER).child({ subsystem: 'as' });
  }

  get signer(): TokenSigner {
    return this.#o.signer;
  }

  async attest(req: AttestRequest): Promise<AttestOutcome> {
    const verifier = isTeeKind(req.tee) ? this.#o.verifierFor(req.tee) : undefined;
    if (!verifier)
      throw new AsError(
        'invalid_argument',
        'ERR_AS_UNSUPPORTED_TEE',
        `tee ${req.tee} is not accepted by this attestation service`,
      );
    const init = req.initData ? initDataOf(req.initData) : undefined;
    const reportData = computeReportData(req.runtimeData, req.tee);
    const claims = await verifier.verify(
      req.evidence,
      {
        reportData: this.#o.skipReportDataBinding === true ? undefined : reportData,
        initDataDigest: init?.digest,
      },
      { now: new Date(this.#now()), signal: req.signal },
    );
    const evidence = annotatedEvidence(
      req.tee,
      claims,
      runtimeDataToJson(req.runtimeData),
      init?.data,
    );
    const policyId = req.policyId ?? 'default';
    const vector = await this.#appraise(policyId, evidence);
    const status = statusOf(vector);
    const iat = Math.floor(this.#now() / 1000);
    const payload: JWTPayload = {
      eat_profile: EAR_PROFILE,
      iat,
      exp: iat + (this.#o.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS),
      'ear.verifier-id': { build: EAR_BUILD, developer: EAR_DEVELOPER },
      submods: {
        cpu0: {
          'ear.status': status,
          'ear.trustworthiness-vector': Object.fromEntries(
            TRUST_CLAIMS.filter((c) => vector[c] !== undefined).map((c) => [
              earClaimName(c),
              vector[c],
            ]),
          ),
          'ear.appraisal-policy-id': policyId,
          'ear.veraison.annotated-evidence': evidence,
        },
      },
    };
    this.#log.info('attestation appraised', { tee: req.tee, status, policy_id: policyId });
    return { token: await this.#o.signer.sign(payload), claims: payload };
  }

  /** Verifies a token this service issued (for `Authorization: Bearer` resource requests). */
  verifyToken(token: string): Promise<JWTPayload> {
    return this.#o.signer.verify(token, this.#now());
  }

  async #appraise(
    policyId: string,
    input: Record<string, unknown>,
  ): Promise<Partial<Record<TrustClaim, number>>> {
    const text = await this.#o.policies.attestationPolicy(policyId);
    const data = { reference: await this.#o.referenceValues.referenceData() };
    const results = this.#o.engine.evaluate(
      text,
      `attestation/${policyId}`,
      TRUST_CLAIMS,
      input,
      data,
    );
    const vector: Partial<Record<TrustClaim, number>> = {};
    for (const c of TRUST_CLAIMS) {
      const v = results[c];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -128 || v > 127)
        throw new AsError(
          'internal',
          'ERR_AS_POLICY_RESULT',
          `attestation policy ${policyId}: rule ${c} must be an integer in -128..127, got ${JSON.stringify(v)}`,
        );
      vector[c] = v;
    }
    if (Object.keys(vector).length === 0)
      throw new AsError(
        'internal',
        'ERR_AS_POLICY_RESULT',
        `attestation policy ${policyId} sets no trust claim (expected rules like executables, hardware, configuration)`,
      );
    return vector;
  }
}

function initDataOf(initData: KbsInitData): { digest: Uint8Array; data: unknown } {
  if (initData.format !== 'toml')
    throw new AsError(
      'invalid_argument',
      'ERR_AS_INIT_DATA',
      `init-data format ${JSON.stringify(initData.format)} is not supported (use toml)`,
    );
  try {
    const parsed = parseInitData(initData.body);
    return {
      digest: parsed.digest,
      data: {
        version: parsed.version,
        algorithm: parsed.algorithm,
        data: parsed.data,
        digest: toHex(parsed.digest),
      },
    };
  } catch (err) {
    throw new AsError(
      'invalid_argument',
      'ERR_AS_INIT_DATA',
      `init-data: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

/** Trustee's transform_claims: TEE claims under the TEE name, bindings and their documents beside. */
function annotatedEvidence(
  tee: string,
  claims: Claims,
  runtimeData: unknown,
  initData: unknown,
): Record<string, unknown> {
  const teeClaims: Record<string, unknown> = { ...claims };
  const out: Record<string, unknown> = {};
  if (teeClaims['init_data'] !== undefined) {
    out['init_data'] = teeClaims['init_data'];
    delete teeClaims['init_data'];
    if (initData !== undefined) out['init_data_claims'] = initData;
  }
  if (teeClaims['report_data'] !== undefined) {
    out['report_data'] = teeClaims['report_data'];
    delete teeClaims['report_data'];
    out['runtime_data_claims'] = runtimeData;
  }
  out[tee] = teeClaims;
  return out;
}
