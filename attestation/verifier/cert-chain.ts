import { X509Certificate } from 'node:crypto';
import { ContentMemo, contentKey } from './content-memo.js';
import { denied, malformedInput, type VerifierErrorCode } from './errors.js';
import { passes } from './safe-check.js';

/** Parsed certificates and chains by content (the same PCK/VCEK chain arrives with every quote). */
const PARSED = new ContentMemo<X509Certificate>();
const PARSED_PEM = new ContentMemo<readonly X509Certificate[]>(256);
/** Whether `cert` is issued and signed by `issuer`, by the two certificates' bytes. */
const SIGNED_BY = new ContentMemo<boolean>(1024);

const PEM_RE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM text, in order. Throws `code` when one does not parse. */
export function parsePemCertificates(
  pem: string,
  what: string,
  code: VerifierErrorCode,
): X509Certificate[] {
  return [
    ...PARSED_PEM.get(contentKey('pem-chain', pem), () => {
      const blocks = pem.match(PEM_RE) ?? [];
      if (blocks.length === 0) throw malformedInput(code, `${what}: no PEM certificate found`);
      return blocks.map((b, i) => parseCertificate(b, `${what}[${i}]`, code));
    }),
  ];
}

/** One certificate from DER or PEM bytes/text. */
export function parseCertificate(
  data: string | Uint8Array,
  what: string,
  code: VerifierErrorCode,
): X509Certificate {
  return PARSED.get(contentKey(typeof data === 'string' ? 'pem' : 'der', data), () => {
    try {
      return new X509Certificate(typeof data === 'string' ? data : Buffer.from(data));
    } catch (err) {
      throw malformedInput(code, `${what}: not an X.509 certificate`, err);
    }
  });
}

/** Certificates from a DER blob or a PEM text with one or more certificates. */
export function parseCertificates(
  data: Uint8Array,
  what: string,
  code: VerifierErrorCode,
): X509Certificate[] {
  const text = Buffer.from(data).toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) return parsePemCertificates(text, what, code);
  return [parseCertificate(data, what, code)];
}

function cn(cert: X509Certificate): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? cert.subject.replace(/\n/g, ',');
}

/** The certificate's subject common name. */
export function commonName(cert: X509Certificate): string {
  return cn(cert);
}

/** Throws `code` unless `now` lies in the certificate's validity period. */
export function checkValidity(
  cert: X509Certificate,
  now: Date,
  what: string,
  code: VerifierErrorCode,
): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (!(now >= from && now <= to)) {
    throw denied(
      code,
      `${what}: certificate '${cn(cert)}' is not valid at ${now.toISOString()} (valid ${from.toISOString()} .. ${to.toISOString()})`,
    );
  }
}

/** Throws `code` unless `issuer` issued and signed `cert`. */
export function checkIssuedBy(
  cert: X509Certificate,
  issuer: X509Certificate,
  what: string,
  code: VerifierErrorCode,
): void {
  const ok = SIGNED_BY.get(contentKey(cert, issuer), () =>
    passes(() => cert.checkIssued(issuer) && cert.verify(issuer.publicKey)),
  );
  if (!ok)
    throw denied(code, `${what}: certificate '${cn(cert)}' is not signed by '${cn(issuer)}'`);
}

/**
 * Verifies `chain` (leaf first) up to the trust anchor: each certificate is signed by the next,
 * the last is the anchor itself (byte-identical) or signed by it, the anchor is self-signed, and
 * every certificate is valid at `now`. Throws `code` naming the failing link.
 */
export function verifyCertChain(
  chain: readonly X509Certificate[],
  anchor: X509Certificate,
  now: Date,
  what: string,
  code: VerifierErrorCode,
  expiredCode: VerifierErrorCode = code,
): void {
  if (chain.length === 0) throw malformedInput(code, `${what}: empty certificate chain`);
  const links = [...chain];
  const last = links[links.length - 1];
  if (last && Buffer.compare(last.raw, anchor.raw) === 0) links.pop();
  checkIssuedBy(anchor, anchor, `${what} (trust anchor)`, code);
  checkValidity(anchor, now, `${what} (trust anchor)`, expiredCode);
  links.forEach((cert, i) => {
    const issuer = links[i + 1] ?? anchor;
    checkIssuedBy(cert, issuer, what, code);
    checkValidity(cert, now, what, expiredCode);
  });
}
