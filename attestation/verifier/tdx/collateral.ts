import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fromHex } from '#src/lib/index.js';
import { malformedInput } from '../errors.js';
import { rawJsonMember } from './raw-json.js';

/**
 * Intel PCS collateral for one FMSPC, unverified. `tcbInfoJson` / `qeIdentityJson` are the exact
 * signed texts; signatures are ECDSA P-256 r||s; CRLs are DER; chains are PEM, leaf first.
 */
export interface TdxCollateral {
  readonly tcbInfoJson: string;
  readonly tcbInfoSignature: Uint8Array;
  readonly tcbInfoIssuerChainPem: string;
  readonly qeIdentityJson: string;
  readonly qeIdentitySignature: Uint8Array;
  readonly qeIdentityIssuerChainPem: string;
  readonly pckCrl: Uint8Array;
  readonly pckCrlIssuerChainPem: string;
  /** The Intel SGX Root CA CRL; when absent the root CRL check is skipped. */
  readonly rootCaCrl?: Uint8Array | undefined;
}

export interface TdxCollateralRequest {
  /** Lowercase hex FMSPC from the PCK certificate. */
  readonly fmspc: string;
  /** `platform` or `processor`, from the PCK issuer's common name. */
  readonly ca: 'platform' | 'processor';
}

/** Where the TDX verifier gets collateral (offline files, a PCCS client, a cache …). */
export interface TdxCollateralProvider {
  getCollateral(
    request: TdxCollateralRequest,
    signal?: AbortSignal,
  ): Promise<TdxCollateral | undefined>;
}

function str(o: Record<string, unknown>, key: string, at: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0)
    throw malformedInput(
      'ERR_TDX_COLLATERAL_MALFORMED',
      `${at}.${key}: expected a non-empty string`,
    );
  return v;
}

function hexField(o: Record<string, unknown>, key: string, at: string): Uint8Array {
  const v = str(o, key, at).replace(/^0x/, '');
  try {
    return fromHex(v);
  } catch (err) {
    throw malformedInput('ERR_TDX_COLLATERAL_MALFORMED', `${at}.${key}: expected hex`, err);
  }
}

/** Parses the dcap-qvl `QuoteCollateralV3` JSON bundle. */
export function parseCollateralBundle(text: string, at = 'collateral'): TdxCollateral {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw malformedInput('ERR_TDX_COLLATERAL_MALFORMED', `${at}: not JSON`, err);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw malformedInput('ERR_TDX_COLLATERAL_MALFORMED', `${at}: expected an object`);
  const o = raw as Record<string, unknown>;
  return {
    tcbInfoJson: str(o, 'tcb_info', at),
    tcbInfoSignature: hexField(o, 'tcb_info_signature', at),
    tcbInfoIssuerChainPem: str(o, 'tcb_info_issuer_chain', at),
    qeIdentityJson: str(o, 'qe_identity', at),
    qeIdentitySignature: hexField(o, 'qe_identity_signature', at),
    qeIdentityIssuerChainPem: str(o, 'qe_identity_issuer_chain', at),
    pckCrl: hexField(o, 'pck_crl', at),
    pckCrlIssuerChainPem: str(o, 'pck_crl_issuer_chain', at),
    rootCaCrl: typeof o['root_ca_crl'] === 'string' ? hexField(o, 'root_ca_crl', at) : undefined,
  };
}

/** `{"<member>": {...}, "signature": "<hex>"}` (Intel PCS v4 response body) → signed text + signature. */
export function parsePcsSignedJson(
  text: string,
  member: string,
  at: string,
): { json: string; signature: Uint8Array } {
  const json = rawJsonMember(text, member);
  const sig = rawJsonMember(text, 'signature');
  if (json === undefined || sig === undefined)
    throw malformedInput(
      'ERR_TDX_COLLATERAL_MALFORMED',
      `${at}: expected {"${member}": …, "signature": …}`,
    );
  let sigHex: unknown;
  try {
    sigHex = JSON.parse(sig);
  } catch (err) {
    throw malformedInput('ERR_TDX_COLLATERAL_MALFORMED', `${at}.signature: not a JSON string`, err);
  }
  return { json, signature: hexField({ signature: sigHex }, 'signature', at) };
}

const FOLDER_FILES = {
  tcbInfo: /^tcb_?info.*\.json$/i,
  qeIdentity: /^qe_?identity.*\.json$/i,
  tcbChain: /^(tcb_signing_chain|tcb_info_issuer_chain).*\.pem$/i,
  qeChain: /^qe_identity_issuer_chain.*\.pem$/i,
  pckCrlChain: /^pck_crl_issuer_chain.*\.pem$/i,
  pckCrl: /^pck.*crl.*\.der$/i,
  rootCrl: /^(root_ca_crl|intel_sgx_root_ca_crl).*\.der$/i,
} as const;

/**
 * Loads collateral from a folder of separate files (PCS response bodies and DER/PEM files):
 * `tcbinfo*.json`, `qe_identity*.json`, `tcb_signing_chain*.pem` (or `tcb_info_issuer_chain*.pem`),
 * optional `qe_identity_issuer_chain*.pem` (default: the TCB signing chain), `pck_crl_issuer_chain*.pem`,
 * `pck*crl*.der`, optional `root_ca_crl*.der`.
 */
export async function loadCollateralFolder(dir: string): Promise<TdxCollateral> {
  const names = await readdir(dir);
  const pick = (re: RegExp, what: string, required: boolean): string | undefined => {
    const found = names.filter((n) => re.test(n)).sort();
    if (found.length === 0 && required)
      throw malformedInput(
        'ERR_TDX_COLLATERAL_MALFORMED',
        `collateral folder ${dir}: no ${what} file (${re.source})`,
      );
    return found[0] === undefined ? undefined : join(dir, found[0]);
  };
  const text = (p: string): Promise<string> => readFile(p, 'utf8');
  const tcbPath = pick(FOLDER_FILES.tcbInfo, 'TCB info', true) ?? '';
  const qePath = pick(FOLDER_FILES.qeIdentity, 'QE identity', true) ?? '';
  const tcbChain = await text(pick(FOLDER_FILES.tcbChain, 'TCB signing chain', true) ?? '');
  const qeChainPath = pick(FOLDER_FILES.qeChain, 'QE identity issuer chain', false);
  const rootCrlPath = pick(FOLDER_FILES.rootCrl, 'root CA CRL', false);
  const pckCrlPath = pick(FOLDER_FILES.pckCrl, 'PCK CRL', true) ?? '';
  const tcb = parsePcsSignedJson(await text(tcbPath), 'tcbInfo', tcbPath);
  const qe = parsePcsSignedJson(await text(qePath), 'enclaveIdentity', qePath);
  return {
    tcbInfoJson: tcb.json,
    tcbInfoSignature: tcb.signature,
    tcbInfoIssuerChainPem: tcbChain,
    qeIdentityJson: qe.json,
    qeIdentitySignature: qe.signature,
    qeIdentityIssuerChainPem: qeChainPath ? await text(qeChainPath) : tcbChain,
    pckCrl: new Uint8Array(await readFile(pckCrlPath)),
    pckCrlIssuerChainPem: await text(
      pick(FOLDER_FILES.pckCrlChain, 'PCK CRL issuer chain', true) ?? '',
    ),
    rootCaCrl: rootCrlPath ? new Uint8Array(await readFile(rootCrlPath)) : undefined,
  };
}

/** Loads collateral from a dcap-qvl JSON bundle file or a folder of separate files. */
export async function loadTdxCollateral(path: string): Promise<TdxCollateral> {
  const st = await stat(path);
  if (st.isDirectory()) return loadCollateralFolder(path);
  return parseCollateralBundle(await readFile(path, 'utf8'), path);
}

/** A provider that always answers with the same collateral (offline verification). */
export function staticCollateralProvider(collateral: TdxCollateral): TdxCollateralProvider {
  return { getCollateral: () => Promise.resolve(collateral) };
}

/**
 * Collateral kept per FMSPC under `dir`: `<fmspc>.json` (a dcap-qvl bundle) or `<fmspc>/` (a folder of
 * PCS files), FMSPC in lowercase hex. Read on every request, so refreshed files apply at once.
 */
export function directoryCollateralProvider(dir: string): TdxCollateralProvider {
  return {
    async getCollateral(request: TdxCollateralRequest): Promise<TdxCollateral | undefined> {
      if (!/^[0-9a-f]{12}$/.test(request.fmspc)) return undefined;
      for (const candidate of [join(dir, `${request.fmspc}.json`), join(dir, request.fmspc)]) {
        const found = await stat(candidate).then(
          () => true,
          () => false,
        );
        if (found) return loadTdxCollateral(candidate);
      }
      return undefined;
    },
  };
}
