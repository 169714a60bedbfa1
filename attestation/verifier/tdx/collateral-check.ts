import { verify, type X509Certificate } from 'node:crypto';
import { checkIssuedBy, parsePemCertificates, verifyCertChain } from '../cert-chain.js';
import { checkCrlSignature, checkCrlValidity, isRevoked, parseCrl } from '../crl.js';
import { denied, type VerifierErrorCode } from '../errors.js';
import type { TdxCollateral } from './collateral.js';
import { parseQeIdentity, parseTdxTcbInfo, type QeIdentity, type TdxTcbInfo } from './tcb-info.js';
import { passes } from '../safe-check.js';
import { ContentMemo, contentKey } from '../content-memo.js';

/** Signature verdicts over the collateral's exact texts, and the parsed texts, by content. */
const SIGNED = new ContentMemo<boolean>(256);
const TCB_INFO = new ContentMemo<TdxTcbInfo>(128);
const QE_IDENTITY = new ContentMemo<QeIdentity>(128);

export interface CheckedCollateral {
  readonly tcbInfo: TdxTcbInfo;
  readonly qeIdentity: QeIdentity;
}

function checkSignedJson(
  json: string,
  signature: Uint8Array,
  chainPem: string,
  root: X509Certificate,
  now: Date,
  what: string,
  code: VerifierErrorCode,
): void {
  const chain = parsePemCertificates(
    chainPem,
    `${what} issuer chain`,
    'ERR_TDX_COLLATERAL_MALFORMED',
  );
  verifyCertChain(
    chain,
    root,
    now,
    `${what} issuer chain`,
    'ERR_TDX_COLLATERAL_CHAIN',
    'ERR_TDX_COLLATERAL_EXPIRED',
  );
  const signer = chain[0];
  const ok =
    signer !== undefined &&
    SIGNED.get(contentKey(json, signature, signer), () =>
      passes(
        () =>
          signature.byteLength === 64 &&
          verify(
            'sha256',
            Buffer.from(json, 'utf8'),
            { key: signer.publicKey, dsaEncoding: 'ieee-p1363' },
            signature,
          ),
      ),
    );
  if (!ok)
    throw denied(
      code,
      `${what} signature check failed: the signature does not verify under the Intel SGX TCB Signing key`,
    );
}

function checkWindow(issue: Date, next: Date, now: Date, what: string): void {
  if (now < issue || now > next) {
    throw denied(
      'ERR_TDX_COLLATERAL_EXPIRED',
      `${what} is not valid at ${now.toISOString()} (issueDate ${issue.toISOString()}, nextUpdate ${next.toISOString()})`,
    );
  }
}

/**
 * Verifies the collateral for a quote whose PCK chain is `pckChain` (leaf, issuing CA, …):
 * TCB info and QE identity signatures over their exact text and their signing chain to the root,
 * the root CA CRL (if given) and PCK CRL signatures, validity windows at `now`, and that neither the
 * PCK CA nor the PCK leaf is revoked.
 */
export function checkCollateral(
  c: TdxCollateral,
  pckChain: readonly X509Certificate[],
  root: X509Certificate,
  now: Date,
  fmspc: string,
  pceId: string,
): CheckedCollateral {
  checkSignedJson(
    c.tcbInfoJson,
    c.tcbInfoSignature,
    c.tcbInfoIssuerChainPem,
    root,
    now,
    'tdx tcb info',
    'ERR_TDX_TCB_INFO_SIGNATURE',
  );
  checkSignedJson(
    c.qeIdentityJson,
    c.qeIdentitySignature,
    c.qeIdentityIssuerChainPem,
    root,
    now,
    'tdx qe identity',
    'ERR_TDX_QE_IDENTITY_SIGNATURE',
  );
  const tcbInfo = TCB_INFO.get(contentKey(c.tcbInfoJson), () => parseTdxTcbInfo(c.tcbInfoJson));
  const qeIdentity = QE_IDENTITY.get(contentKey(c.qeIdentityJson), () =>
    parseQeIdentity(c.qeIdentityJson),
  );
  checkWindow(tcbInfo.issueDate, tcbInfo.nextUpdate, now, 'tdx tcb info');
  checkWindow(qeIdentity.issueDate, qeIdentity.nextUpdate, now, 'tdx qe identity');
  if (tcbInfo.fmspc !== fmspc.toLowerCase() || tcbInfo.pceId !== pceId.toLowerCase()) {
    throw denied(
      'ERR_TDX_FMSPC_MISMATCH',
      `tdx tcb info is for FMSPC ${tcbInfo.fmspc} PCEID ${tcbInfo.pceId}, the PCK certificate has FMSPC ${fmspc} PCEID ${pceId}`,
    );
  }
  const [leaf, pckCa] = pckChain;
  if (!leaf || !pckCa)
    throw denied('ERR_TDX_PCK_CHAIN', 'tdx pck chain: needs the PCK leaf and its issuing CA');
  const crlChain = parsePemCertificates(
    c.pckCrlIssuerChainPem,
    'tdx pck crl issuer chain',
    'ERR_TDX_COLLATERAL_MALFORMED',
  );
  verifyCertChain(
    crlChain,
    root,
    now,
    'tdx pck crl issuer chain',
    'ERR_TDX_COLLATERAL_CHAIN',
    'ERR_TDX_COLLATERAL_EXPIRED',
  );
  if (c.rootCaCrl) {
    const rootCrl = parseCrl(c.rootCaCrl, 'tdx root ca crl', 'ERR_TDX_CRL');
    checkCrlSignature(rootCrl, root, 'tdx root ca crl', 'ERR_TDX_CRL');
    checkCrlValidity(rootCrl, now, 'tdx root ca crl', 'ERR_TDX_COLLATERAL_EXPIRED');
    for (const ca of [pckCa, ...crlChain.slice(0, -1)]) {
      if (isRevoked(rootCrl, ca.serialNumber))
        throw denied(
          'ERR_TDX_CRL_REVOKED',
          `tdx crl check failed: CA certificate ${ca.serialNumber.toLowerCase()} is revoked by the Intel SGX Root CA CRL`,
        );
    }
  }
  const pckCrl = parseCrl(c.pckCrl, 'tdx pck crl', 'ERR_TDX_CRL');
  checkCrlSignature(
    pckCrl,
    pckCa,
    'tdx pck crl (must be issued by the PCK certificate issuer)',
    'ERR_TDX_CRL',
  );
  checkCrlValidity(pckCrl, now, 'tdx pck crl', 'ERR_TDX_COLLATERAL_EXPIRED');
  if (isRevoked(pckCrl, leaf.serialNumber))
    throw denied(
      'ERR_TDX_CRL_REVOKED',
      `tdx crl check failed: PCK certificate ${leaf.serialNumber.toLowerCase()} is revoked`,
    );
  checkIssuedBy(leaf, pckCa, 'tdx pck chain', 'ERR_TDX_PCK_CHAIN');
  return { tcbInfo, qeIdentity };
}
