import {
  createHash,
  createPublicKey,
  verify,
  type KeyObject,
  type X509Certificate,
} from 'node:crypto';
import { equalBytes, isAllZero, throwIfAborted, toHex } from '#src/lib/index.js';
import { TeeError, parseTdxQuote, type TdxQuote } from '#src/tee/index.js';
import { parseCertificate, parsePemCertificates, verifyCertChain } from '../cert-chain.js';
import { readVerifierDataFile } from '../data-files.js';
import { denied, malformedInput } from '../errors.js';
import { checkBinding } from '../binding.js';
import type { Claims, ExpectedBinding, Verifier, VerifyOptions } from '../verifier.js';
import type { TdxCollateralProvider } from './collateral.js';
import { verifyAael } from './aael-check.js';
import { verifyCcel } from './ccel-claims.js';
import { checkCollateral } from './collateral-check.js';
import { parsePckExtensions, type PckExtensions } from './pck-extensions.js';
import { ContentMemo, contentKey } from '../content-memo.js';
import { evaluateTdxTcb, type TdxTcbEvaluation } from './tcb-status.js';
import { tdxClaims } from './tdx-claims.js';
import { parseTdxEvidence } from './tdx-evidence.js';

export interface TdxVerifierOptions {
  /** Collateral source; without one, TCB status is not evaluated (no `tcb_status` claim). */
  readonly collateral?: TdxCollateralProvider | undefined;
  /** Refuse evidence when no collateral is available (default false). */
  readonly requireCollateral?: boolean | undefined;
  /** Intel SGX Root CA PEM (default: tdx/intel-sgx-root-ca.pem shipped with the verifier). */
  readonly rootCaPem?: string | undefined;
}

/** SubjectPublicKeyInfo prefix of an uncompressed P-256 point (id-ecPublicKey, prime256v1). */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
/** Attestation keys by value: a platform's QE signs every quote with the same key. */
const ATTESTATION_KEYS = new ContentMemo<KeyObject | undefined>(256);
const PCK_EXTENSIONS = new ContentMemo<PckExtensions>(256);

function p256Key(xy: Uint8Array): KeyObject | undefined {
  const point = Buffer.concat([Buffer.from([4]), xy]);
  return ATTESTATION_KEYS.get(point.toString('base64'), () => {
    try {
      return createPublicKey({
        key: Buffer.concat([P256_SPKI_PREFIX, point]),
        format: 'der',
        type: 'spki',
      });
    } catch {
      return undefined;
    }
  });
}

function ecdsaOk(key: KeyObject | undefined, data: Uint8Array, sig: Uint8Array): boolean {
  if (!key) return false;
  try {
    return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
}

function parseQuote(raw: Uint8Array): TdxQuote {
  try {
    return parseTdxQuote(raw);
  } catch (err) {
    if (err instanceof TeeError) {
      const code =
        err.code === 'ERR_TEE_UNSUPPORTED'
          ? 'ERR_TDX_QUOTE_UNSUPPORTED'
          : 'ERR_TDX_QUOTE_MALFORMED';
      throw malformedInput(code, err.message, err);
    }
    throw err;
  }
}

/** PCK chain → QE report signature → QE report data binding → quote signature (root down). */
function checkQuoteCrypto(quote: TdxQuote, root: X509Certificate, now: Date): X509Certificate[] {
  const chain = parsePemCertificates(
    quote.certification.pckCertChainPem,
    'tdx pck chain',
    'ERR_TDX_PCK_CHAIN',
  );
  verifyCertChain(chain, root, now, 'tdx pck chain check failed', 'ERR_TDX_PCK_CHAIN');
  const leaf = chain[0];
  const cert = quote.certification;
  if (!leaf || !ecdsaOk(leaf.publicKey, cert.qeReport.raw, cert.qeReportSignature))
    throw denied(
      'ERR_TDX_QE_REPORT_SIGNATURE',
      'tdx qe report signature check failed: the QE report is not signed by the PCK key',
    );
  const binding = createHash('sha256')
    .update(quote.attestationKey)
    .update(cert.qeAuthData)
    .digest();
  const rd = cert.qeReport.reportData;
  if (!equalBytes(rd.subarray(0, 32), binding) || !isAllZero(rd.subarray(32)))
    throw denied(
      'ERR_TDX_QE_REPORT_DATA',
      'tdx qe report data check failed: QE REPORTDATA is not SHA-256(attestation key || QE auth data) || 0…',
    );
  if (!ecdsaOk(p256Key(quote.attestationKey), quote.signedBytes, quote.signature))
    throw denied(
      'ERR_TDX_QUOTE_SIGNATURE',
      'tdx quote signature check failed: header and TD report are not signed by the attestation key',
    );
  return chain;
}

async function evaluateCollateral(
  o: TdxVerifierOptions,
  quote: TdxQuote,
  chain: X509Certificate[],
  root: X509Certificate,
  now: Date,
  signal: AbortSignal | undefined,
): Promise<TdxTcbEvaluation | undefined> {
  const leaf = chain[0];
  const issuer = chain[1];
  if (!leaf || !issuer)
    throw denied('ERR_TDX_PCK_CHAIN', 'tdx pck chain: needs the PCK leaf and its issuing CA');
  const pck = PCK_EXTENSIONS.get(contentKey(leaf), () =>
    parsePckExtensions(new Uint8Array(leaf.raw)),
  );
  const fmspc = toHex(pck.fmspc);
  const ca = /Processor/i.test(issuer.subject) ? 'processor' : 'platform';
  const collateral = await o.collateral?.getCollateral({ fmspc, ca }, signal);
  throwIfAborted(signal);
  if (!collateral) {
    if (o.requireCollateral)
      throw denied(
        'ERR_TDX_COLLATERAL_MISSING',
        `tdx collateral for FMSPC ${fmspc} is not available`,
      );
    return undefined;
  }
  const checked = checkCollateral(collateral, chain, root, now, fmspc, toHex(pck.pceId));
  const result = evaluateTdxTcb(
    checked.tcbInfo,
    checked.qeIdentity,
    pck,
    quote.body,
    quote.certification.qeReport,
  );
  if (result.status === 'Revoked')
    throw denied(
      'ERR_TDX_TCB_REVOKED',
      `tdx tcb check failed: TCB status is Revoked (FMSPC ${fmspc})`,
    );
  return result;
}

/** The DCAP verifier for TDX quotes v4/v5 (see README.md for every check). */
export function createTdxVerifier(options: TdxVerifierOptions = {}): Verifier {
  const root = parseCertificate(
    options.rootCaPem ?? readVerifierDataFile('tdx/intel-sgx-root-ca.pem'),
    'intel sgx root ca',
    'ERR_VERIFIER_CONFIG',
  );
  return {
    tee: 'tdx',
    async verify(
      evidence: unknown,
      expected: ExpectedBinding,
      opts: VerifyOptions = {},
    ): Promise<Claims> {
      throwIfAborted(opts.signal);
      const now = opts.now ?? new Date();
      const ev = parseTdxEvidence(evidence);
      const quote = parseQuote(ev.quote);
      const chain = checkQuoteCrypto(quote, root, now);
      const tcb = await evaluateCollateral(options, quote, chain, root, now, opts.signal);
      checkBinding('tdx', expected, quote.body.reportData, {
        field: 'MRCONFIGID',
        value: quote.body.mrConfigId,
      });
      const ccel = ev.ccEventLog ? verifyCcel(quote, ev.ccEventLog) : undefined;
      const aael = ev.aaEventLog === undefined ? undefined : verifyAael(quote, ev.aaEventLog);
      const claims = tdxClaims(quote, tcb, ccel);
      return aael === undefined ? claims : { ...claims, aael };
    },
  };
}
