import { verify, type X509Certificate } from 'node:crypto';
import {
  DER_SEQUENCE,
  DerReader,
  derTime,
  oidText,
  DER_INTEGER,
  DER_UTC_TIME,
  DER_GENERALIZED_TIME,
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
  readonly signature: Uint8Array;
}

const HASH_OF_SIG_ALG: Readonly<Record<string, string>> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

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
  const algOid = DerReader.children(algNode, what, code)[0];
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
  const hash = HASH_OF_SIG_ALG[crl.signatureAlgorithm];
  const ok = SIGNED_BY.get(contentKey(crl.tbs, crl.signature, issuer), () =>
    passes(() => hash !== undefined && verify(hash, crl.tbs, issuer.publicKey, crl.signature)),
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
