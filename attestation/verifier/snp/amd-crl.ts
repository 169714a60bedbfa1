import type { X509Certificate } from 'node:crypto';
import { commonName } from '../cert-chain.js';
import { checkCrlSignature, isRevoked, parseCrl, type Crl } from '../crl.js';
import { denied, malformedInput } from '../errors.js';
import type { AmdChain } from './snp-verifier.js';

/** An AMD KDS CRL (`/vcek/v1/{product}/crl`, `/vlek/v1/{product}/crl`) with the ARK that signed it. */
export interface AmdCrl {
  readonly crl: Crl;
  readonly ark: X509Certificate;
}

/**
 * Parses the configured AMD CRLs (DER) and pairs each with the trusted ARK whose RSASSA-PSS signature
 * it carries. A CRL that no configured ARK signed is a configuration error (ERR_VERIFIER_CONFIG), so
 * a wrong or corrupted file cannot silently disable revocation.
 */
export function loadAmdCrls(ders: readonly Uint8Array[], chains: readonly AmdChain[]): AmdCrl[] {
  return ders.map((der, i) => {
    const what = `amd crl ${String(i)}`;
    const crl = parseCrl(der, what, 'ERR_VERIFIER_CONFIG');
    for (const { ark } of chains) {
      try {
        checkCrlSignature(crl, ark, what, 'ERR_VERIFIER_CONFIG');
        return { crl, ark };
      } catch {
        // not this ARK's CRL
      }
    }
    throw malformedInput('ERR_VERIFIER_CONFIG', `${what}: not signed by any trusted AMD ARK`);
  });
}

/**
 * Revocation for one chain: every configured CRL of its ARK must be current at `now`
 * (thisUpdate ≤ now ≤ nextUpdate, else ERR_SNP_CRL) and list neither the ASK/ASVK nor the VCEK/VLEK
 * (else ERR_SNP_CRL_REVOKED). Chains without a configured CRL are not revocation-checked.
 */
export function checkAmdRevocation(
  chain: AmdChain,
  vek: X509Certificate,
  crls: readonly AmdCrl[],
  now: Date,
): void {
  const arkDer = chain.ark.raw;
  for (const { crl, ark } of crls) {
    if (Buffer.compare(ark.raw, arkDer) !== 0) continue;
    if (now < crl.thisUpdate || (crl.nextUpdate !== undefined && now > crl.nextUpdate))
      throw denied(
        'ERR_SNP_CRL',
        `snp crl check failed: the ${commonName(ark)} CRL is not valid at ${now.toISOString()} (thisUpdate ${crl.thisUpdate.toISOString()}, nextUpdate ${crl.nextUpdate?.toISOString() ?? 'none'})`,
      );
    for (const cert of [chain.ask, vek])
      if (isRevoked(crl, cert.serialNumber))
        throw denied(
          'ERR_SNP_CRL_REVOKED',
          `snp crl check failed: certificate '${commonName(cert)}' serial ${cert.serialNumber.toLowerCase()} is revoked by the ${commonName(ark)} CRL`,
        );
  }
}
