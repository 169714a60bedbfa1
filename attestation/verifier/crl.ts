import { constants, verify, type X509Certificate } from 'node:crypto';
import {
  DER_SEQUENCE,
  DerReader,
  derTime,
  oidText,
  DER_INTEGER,
  DER_UTC_TIME,
  DER_GENERALIZED_TIME,
  derUint,
} from './der.js';
import { denied, malformedInput, type VerifierErrorCode } from './errors.js';
import { passes } from './safe-check.js';
import { ContentMemo, contentKey } from './content-memo.js';

const PARSED = new ContentMemo<Crl>(128);
const SIGNED_BY = new ContentMemo<boolean>(256);

/** An X.509 v2 CRL, parsed enough to check signature, validity and revocation. */
export interface Crl {
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  /** Revoked serial numbers, lowercase hex without leading zeros. */
  readonly revoked: ReadonlySet<string>;
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: string;
  /** The DER of the signature algorithm's parameters (RSASSA-PSS), when present. */
  readonly signatureParams?: Uint8Array | undefined;
  readonly signature: Uint8Array;
}

const HASH_OF_SIG_ALG: Readonly<Record<string, string>> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};
const RSASSA_PSS = '1.2.840.113549.1.1.10';
const HASH_OIDS: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** RSASSA-PSS-params (RFC 4055): [0] hash (default SHA-1), [2] salt length (default 20). */
function pssParams(params: Uint8Array | undefined): { hash: string; saltLength: number } {
  let hash = 'sha1';
  let saltLength = 20;
  if (!params) return { hash, saltLength };
  const seq = new DerReader(params, 'rsassa-pss params', 'ERR_TDX_CRL').next(DER_SEQUENCE);
  for (const field of DerReader.children(seq, 'rsassa-pss params', 'ERR_TDX_CRL')) {
    const inner = DerReader.children(field, 'rsassa-pss params', 'ERR_TDX_CRL')[0];
    if (!inner) continue;
    if (field.tag === 0xa0) {
      const oid = DerReader.children(inner, 'rsassa-pss hash', 'ERR_TDX_CRL')[0];
      hash = (oid && HASH_OIDS[oidText(oid.content)]) ?? 'unsupported';
    } else if (field.tag === 0xa2 && inner.tag === DER_INTEGER) {
      saltLength = derUint(inner.content);
    }
  }
  return { hash, saltLength };
}

/** Whether the CRL's signature verifies under `issuer` (ECDSA, RSA PKCS#1 v1.5 or RSASSA-PSS). */
function crlSignatureVerifies(crl: Crl, issuer: X509Certificate): boolean {
  if (crl.signatureAlgorithm === RSASSA_PSS) {
    const { hash, saltLength } = pssParams(crl.signatureParams);
    return verify(
      hash,
      crl.tbs,
      { key: issuer.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength },
      crl.signature,
    );
  }
  const hash = HASH_OF_SIG_ALG[crl.signatureAlgorithm];
  return hash !== undefined && verify(hash, crl.tbs, issuer.publicKey, crl.signature);
}

/** Normalised serial: lowercase hex, leading zero bytes removed. */
export function normalizeSerial(hex: string): string {
  return hex.toLowerCase().replace(/^(00)+(?=.)/, '');
}

function isTime(tag: number | undefined): boolean {
  return tag === DER_UTC_TIME || tag === DER_GENERALIZED_TIME;
}

/** Parses a DER CRL; throws `code` on malformed input. */
export function parseCrl(der: Uint8Array, what: string, code: VerifierErrorCode): Crl {
  return PARSED.get(contentKey('crl', der), () => parseCrlUncached(der, what, code));
}

function parseCrlUncached(der: Uint8Array, what: string, code: VerifierErrorCode): Crl {
  const top = new DerReader(der, what, code).next(DER_SEQUENCE);
  const [tbsNode, algNode, sigNode] = DerReader.children(top, what, code);
  if (!tbsNode || !algNode || sigNode?.tag !== 0x03)
    throw malformedInput(code, `${what}: not a CRL`);
  const [algOid, algParams] = DerReader.children(algNode, what, code);
  const r = new DerReader(tbsNode.content, what, code);
  if (r.peekTag() === DER_INTEGER) r.next();
  r.next(DER_SEQUENCE); // signature algorithm
  r.next(DER_SEQUENCE); // issuer
  const thisUpdate = derTime(r.next());
  const nextUpdate = isTime(r.peekTag()) ? derTime(r.next()) : undefined;
  const revoked = new Set<string>();
  if (r.peekTag() === DER_SEQUENCE) {
    for (const entry of DerReader.children(r.next(), what, code)) {
      const serial = DerReader.children(entry, what, code)[0];
      if (serial?.tag !== DER_INTEGER)
        throw malformedInput(code, `${what}: revoked entry without serial`);
      revoked.add(normalizeSerial(Buffer.from(serial.content).toString('hex')));
    }
  }
  if (Number.isNaN(thisUpdate.getTime())) throw malformedInput(code, `${what}: bad thisUpdate`);
  return {
    thisUpdate,
    nextUpdate,
    revoked,
    tbs: tbsNode.raw,
    signatureAlgorithm: algOid ? oidText(algOid.content) : '',
    signatureParams: algParams?.tag === DER_SEQUENCE ? algParams.raw : undefined,
    signature: sigNode.content.subarray(1),
  };
}

/** Throws `code` unless `issuer` signed the CRL. */
export function checkCrlSignature(
  crl: Crl,
  issuer: X509Certificate,
  what: string,
  code: VerifierErrorCode,
): void {
  const ok = SIGNED_BY.get(contentKey(crl.tbs, crl.signature, issuer), () =>
    passes(() => crlSignatureVerifies(crl, issuer)),
  );
  if (!ok) throw denied(code, `${what}: CRL signature does not verify under its issuer`);
}

/** Throws `code` unless `now` lies in [thisUpdate, nextUpdate]. */
export function checkCrlValidity(crl: Crl, now: Date, what: string, code: VerifierErrorCode): void {
  if (now < crl.thisUpdate || (crl.nextUpdate !== undefined && now > crl.nextUpdate)) {
    throw denied(
      code,
      `${what}: CRL is not valid at ${now.toISOString()} (thisUpdate ${crl.thisUpdate.toISOString()}, nextUpdate ${crl.nextUpdate?.toISOString() ?? 'none'})`,
    );
  }
}

/** Whether the serial (hex, any case, leading zeros allowed) is on the CRL. */
export function isRevoked(crl: Crl, serialHex: string): boolean {
  return crl.revoked.has(normalizeSerial(serialHex));
}
