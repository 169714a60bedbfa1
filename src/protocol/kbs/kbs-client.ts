import { KbsProtocolError } from './errors.js';
import { sendHttp, type HttpResponse } from './http-request.js';
import { decryptWithTeeKey, generateTeeKeyPair, type TeeKeyPair } from './jwe.js';
import {
  KBS_PREFIX,
  KBS_PROTOCOL_VERSION,
  KBS_SESSION_COOKIE,
  errorVariant,
  parseFlattenedJwe,
  parseKbsChallenge,
  parseKbsErrorInfo,
  parseResourcePath,
  runtimeDataToJson,
  type KbsInitData,
  type KbsTeeName,
  type RuntimeData,
} from './kbs-types.js';
import { computeReportData } from './report-data.js';

/** Produces TEE evidence whose report_data is `reportData` (an Attester). */
export interface KbsEvidenceProvider {
  readonly tee: KbsTeeName;
  getEvidence(
    reportData: Uint8Array,
    opts?: { signal?: AbortSignal | undefined },
  ): Promise<unknown>;
}

/** The sample attester (Trustee's `sample` TEE): proves nothing; KBS refuses it by default. */
export function sampleEvidenceProvider(svn = '1'): KbsEvidenceProvider {
  return {
    tee: 'sample',
    getEvidence: (reportData) =>
      Promise.resolve({ svn, report_data: Buffer.from(reportData).toString('base64') }),
  };
}

/** Evidence captured earlier (e.g. from a file): sent as is, whatever the nonce. */
export function staticEvidenceProvider(tee: KbsTeeName, evidence: unknown): KbsEvidenceProvider {
  return { tee, getEvidence: () => Promise.resolve(evidence) };
}

export interface KbsClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** PEM CA bundle to trust for https. */
  readonly caPem?: string | undefined;
  readonly timeoutMs?: number | undefined;
}

export interface AttestOptions {
  readonly initData?: KbsInitData | undefined;
  readonly keyKind?: 'ec' | 'rsa' | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface AttestResult {
  readonly token: string;
  readonly keyPair: TeeKeyPair;
}

/**
 * RCAR client for a Trustee-compatible KBS: auth → attest → resource, keeping the session cookie
 * and the token. One client = one attester identity.
 */
export class KbsClient {
  readonly #base: URL;
  readonly #caPem: string | undefined;
  readonly #timeoutMs: number;
  #cookie: string | undefined;
  #token: string | undefined;
  #keyPair: TeeKeyPair | undefined;

  constructor(options: KbsClientOptions) {
    this.#base = new URL(options.url);
    this.#caPem = options.caPem;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  get token(): string | undefined {
    return this.#token;
  }

  async attest(provider: KbsEvidenceProvider, opts: AttestOptions = {}): Promise<AttestResult> {
    const auth = await this.#send('POST', '/auth', {
      body: JSON.stringify({
        version: KBS_PROTOCOL_VERSION,
        tee: provider.tee,
        'extra-params': '',
      }),
      signal: opts.signal,
    });
    const challenge = parseKbsChallenge(this.#json(auth));
    const keyPair = generateTeeKeyPair(opts.keyKind ?? 'ec');
    const runtimeData: RuntimeData = { nonce: challenge.nonce, teePubkey: keyPair.publicKey };
    const evidence = await provider.getEvidence(computeReportData(runtimeData, provider.tee), {
      signal: opts.signal,
    });
    const attestation = {
      ...(opts.initData ? { 'init-data': opts.initData } : {}),
      'runtime-data': runtimeDataToJson(runtimeData),
      'tee-evidence': evidence,
    };
    const res = await this.#send('POST', '/attest', {
      body: JSON.stringify(attestation),
      signal: opts.signal,
    });
    const body = this.#json(res);
    const token =
      typeof body === 'object' && body !== null
        ? (body as Record<string, unknown>)['token']
        : undefined;
    if (typeof token !== 'string')
      throw new KbsProtocolError(
        'internal',
        'ERR_KBS_TOKEN',
        'attest response: expected {"token": string}',
      );
    this.#token = token;
    this.#keyPair = keyPair;
    return { token, keyPair };
  }

  /** GET /kbs/v0/resource/<path>, decrypted with the attested key. Uses the cookie, else the token. */
  async getResource(
    path: string,
    opts: { signal?: AbortSignal | undefined; useToken?: boolean } = {},
  ): Promise<Uint8Array> {
    parseResourcePath(path);
    const keyPair = this.#keyPair;
    if (!keyPair)
      throw new KbsProtocolError(
        'failed_precondition',
        'ERR_KBS_TOKEN',
        `cannot get resource ${path}: attest first`,
      );
    const headers: Record<string, string> = {};
    if (opts.useToken === true && this.#token) headers['authorization'] = `Bearer ${this.#token}`;
    const res = await this.#send('GET', `/resource/${path}`, {
      signal: opts.signal,
      headers,
      cookie: opts.useToken !== true,
    });
    return decryptWithTeeKey(parseFlattenedJwe(this.#json(res)), keyPair.privateKey);
  }

  /** An admin call (Bearer = Ed25519 admin JWT); resolves with the response body. */
  async admin(
    method: 'GET' | 'POST',
    path: string,
    adminToken: string,
    body?: Uint8Array | string,
    opts: { signal?: AbortSignal | undefined } = {},
  ): Promise<Buffer> {
    const res = await this.#send(method, path, {
      body,
      signal: opts.signal,
      headers: { authorization: `Bearer ${adminToken}` },
      cookie: false,
    });
    return res.body;
  }

  async #send(
    method: 'GET' | 'POST',
    path: string,
    o: {
      body?: Uint8Array | string | undefined;
      signal?: AbortSignal | undefined;
      headers?: Record<string, string>;
      cookie?: boolean;
    },
  ): Promise<HttpResponse> {
    const url = new URL(`${KBS_PREFIX}${path}`, this.#base);
    const signal = o.signal
      ? AbortSignal.any([o.signal, AbortSignal.timeout(this.#timeoutMs)])
      : AbortSignal.timeout(this.#timeoutMs);
    const headers: Record<string, string> = { ...o.headers };
    if (o.body !== undefined)
      headers['content-type'] =
        typeof o.body === 'string' ? 'application/json' : 'application/octet-stream';
    if (o.cookie !== false && this.#cookie)
      headers['cookie'] = `${KBS_SESSION_COOKIE}=${this.#cookie}`;
    const res = await sendHttp(url, { method, headers, body: o.body, caPem: this.#caPem, signal });
    this.#takeCookie(res);
    if (res.status !== 200) throw this.#httpError(method, url, res);
    return res;
  }

  #takeCookie(res: HttpResponse): void {
    const set = res.headers['set-cookie'];
    for (const line of Array.isArray(set) ? set : set ? [set] : []) {
      const m = new RegExp(`^${KBS_SESSION_COOKIE}=([^;]*)`).exec(line);
      if (m) this.#cookie = m[1];
    }
  }

  #json(res: HttpResponse): unknown {
    try {
      return JSON.parse(res.body.toString('utf8')) as unknown;
    } catch (err) {
      throw new KbsProtocolError('internal', 'ERR_KBS_HTTP', 'kbs response is not JSON', {
        cause: err,
      });
    }
  }

  #httpError(method: string, url: URL, res: HttpResponse): KbsProtocolError {
    let variant: string | undefined;
    let detail = res.body.toString('utf8').slice(0, 500);
    try {
      const info = parseKbsErrorInfo(JSON.parse(res.body.toString('utf8')));
      variant = errorVariant(info);
      detail = info.detail;
    } catch {
      // not an ErrorInformation body: keep the raw text
    }
    // PolicyDeny is 401 (issue #6 contract, older Trustee) or 403 (newer Trustee): both are a denial.
    const kind =
      res.status === 404
        ? 'not_found'
        : res.status === 403 || variant === 'PolicyDeny'
          ? 'permission_denied'
          : res.status === 401
            ? 'unauthenticated'
            : res.status === 413
              ? 'resource_exhausted'
              : 'internal';
    return new KbsProtocolError(
      kind,
      'ERR_KBS_HTTP',
      `${method} ${url.pathname}: ${String(res.status)} ${variant ?? ''}: ${detail}`,
      { variant, status: res.status },
    );
  }
}
