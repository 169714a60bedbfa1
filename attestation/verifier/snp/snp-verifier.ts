import { verify, type X509Certificate } from 'node:crypto';
import { equalBytes, throwIfAborted } from '#src/lib/index.js';
import { TeeError, parseSnpReport, type SnpReport, type SnpProduct } from '#src/tee/index.js';
import {
  checkIssuedBy,
  checkValidity,
  commonName,
  parseCertificate,
  parsePemCertificates,
} from '../cert-chain.js';
import { readVerifierDataFile } from '../data-files.js';
import { denied, malformedInput } from '../errors.js';
import { checkBinding } from '../binding.js';
import type { Claims, ExpectedBinding, Verifier, VerifyOptions } from '../verifier.js';
import { checkAmdRevocation, loadAmdCrls, type AmdCrl } from './amd-crl.js';
import { snpClaims } from './snp-claims.js';
import { parseSnpEvidence } from './snp-evidence.js';
import { parseVekExtensions, type VekExtensions } from './vek-extensions.js';
import { passes } from '../safe-check.js';

/** An AMD ASK (or ASVK) with its ARK, the trust anchor. */
export interface AmdChain {
  readonly ask: X509Certificate;
  readonly ark: X509Certificate;
}

/** Where a VCEK/VLEK comes from when the evidence carries none (a KDS client, a cache …). */
export interface SnpVekProvider {
  getVek(
    request: { readonly report: SnpReport; readonly key: 'vcek' | 'vlek' },
    signal?: AbortSignal,
  ): Promise<Uint8Array | undefined>;
}

export interface SnpVerifierOptions {
  /** PEM texts of ASK/ASVK + ARK pairs (default: the Milan, Genoa and Turin chains shipped in snp/). */
  readonly amdChainsPem?: readonly string[] | undefined;
  /** Consulted only when the evidence has no endorsement key certificate. */
  readonly vekProvider?: SnpVekProvider | undefined;
  /** AMD KDS CRLs (DER), each signed by one of the trusted ARKs; revocation is checked per chain. */
  readonly crls?: readonly Uint8Array[] | undefined;
}

const BUILT_IN_CHAINS = ['milan', 'genoa', 'turin'].flatMap((p) => [
  `snp/amd-${p}-vcek-chain.pem`,
  `snp/amd-${p}-vlek-chain.pem`,
]);

export function loadAmdChains(pems: readonly string[]): AmdChain[] {
  return pems.map((pem, i) => {
    const [ask, ark] = parsePemCertificates(pem, `amd chain ${i}`, 'ERR_VERIFIER_CONFIG');
    if (!ask || !ark)
      throw malformedInput('ERR_VERIFIER_CONFIG', `amd chain ${i}: expected ASK then ARK`);
    return { ask, ark };
  });
}

/** ARK self-signed → ASK/ASVK signed by ARK → VCEK/VLEK signed by ASK, all valid at `now`. */
export function verifyVekChain(
  vek: X509Certificate,
  chains: readonly AmdChain[],
  now: Date,
): AmdChain {
  const issuerCn = /(?:^|\n)CN=([^\n]*)/.exec(vek.issuer)?.[1] ?? '';
  const chain = chains.find((c) => commonName(c.ask) === issuerCn);
  if (!chain)
    throw denied(
      'ERR_SNP_VCEK_CHAIN',
      `snp vcek chain check failed: no trusted AMD ASK/ASVK named '${issuerCn}'`,
    );
  checkIssuedBy(chain.ark, chain.ark, 'snp vcek chain check failed (ARK)', 'ERR_SNP_VCEK_CHAIN');
  checkIssuedBy(chain.ask, chain.ark, 'snp vcek chain check failed (ASK)', 'ERR_SNP_VCEK_CHAIN');
  checkIssuedBy(vek, chain.ask, 'snp vcek chain check failed', 'ERR_SNP_VCEK_CHAIN');
  for (const c of [chain.ark, chain.ask, vek])
    checkValidity(c, now, 'snp vcek chain check failed', 'ERR_SNP_VCEK_CHAIN');
  return chain;
}

function parseReport(raw: Uint8Array, product?: SnpProduct): SnpReport {
  try {
    return parseSnpReport(raw, product);
  } catch (err) {
    if (err instanceof TeeError)
      throw malformedInput(
        err.code === 'ERR_TEE_UNSUPPORTED'
          ? 'ERR_SNP_REPORT_UNSUPPORTED'
          : 'ERR_SNP_REPORT_MALFORMED',
        err.message,
        err,
      );
    throw err;
  }
}

/** 72-byte little-endian R/S → 48-byte big-endian (the upper 24 bytes must be zero). */
function leToP384(le: Uint8Array): Uint8Array | undefined {
  if (le.subarray(48).some((b) => b !== 0)) return undefined;
  return Uint8Array.from(le.subarray(0, 48)).reverse();
}

function checkSignature(report: SnpReport, vek: X509Certificate): void {
  const r = leToP384(report.signatureR);
  const s = leToP384(report.signatureS);
  const ok = passes(
    () =>
      r !== undefined &&
      s !== undefined &&
      verify(
        'sha384',
        report.signedBytes,
        { key: vek.publicKey, dsaEncoding: 'ieee-p1363' },
        Buffer.concat([r, s]),
      ),
  );
  if (!ok)
    throw denied(
      'ERR_SNP_SIGNATURE',
      `snp report signature check failed: bytes 0x000..0x29F are not signed by the ${report.signingKey.toUpperCase()}`,
    );
}

function checkTcbAndChip(report: SnpReport, ext: VekExtensions): void {
  const t = report.reportedTcb;
  const pairs: [string, number | undefined, number | undefined][] = [
    ['bootloader', t.bootloader, ext.blSpl],
    ['tee', t.tee, ext.teeSpl],
    ['snp', t.snp, ext.snpSpl],
    ['microcode', t.microcode, ext.ucodeSpl],
  ];
  if (ext.product === 'turin') pairs.push(['fmc', t.fmc, ext.fmcSpl]);
  for (const [name, got, want] of pairs) {
    if (got !== want)
      throw denied(
        'ERR_SNP_TCB_MISMATCH',
        `snp tcb check failed: reported_tcb.${name} is ${got ?? 'absent'}, the endorsement key certificate says ${want ?? 'absent'}`,
      );
  }
  if (report.signingKey === 'vcek') {
    const hw = ext.hwId;
    if (!hw || !equalBytes(hw, report.chipId.subarray(0, hw.byteLength)))
      throw denied(
        'ERR_SNP_CHIP_ID_MISMATCH',
        'snp chip id check failed: CHIP_ID is not the VCEK hwID',
      );
  }
}

/** The SEV-SNP verifier: VCEK/VLEK chain to the AMD ARK, report signature, TCB and chip id. */
export function createSnpVerifier(options: SnpVerifierOptions = {}): Verifier {
  const chains = loadAmdChains(options.amdChainsPem ?? BUILT_IN_CHAINS.map(readVerifierDataFile));
  const crls = loadAmdCrls(options.crls ?? [], chains);
  return {
    tee: 'snp',
    async verify(
      evidence: unknown,
      expected: ExpectedBinding,
      opts: VerifyOptions = {},
    ): Promise<Claims> {
      throwIfAborted(opts.signal);
      const ev = parseSnpEvidence(evidence);
      const first = parseReport(ev.report);
      if (first.signingKey === 'none')
        throw malformedInput(
          'ERR_SNP_REPORT_UNSUPPORTED',
          'snp report is not signed (key_info.signing_key = 7)',
        );
      const key = first.signingKey;
      const der =
        ev.certs.find((c) => c.type === key)?.der ??
        (await options.vekProvider?.getVek({ report: first, key }, opts.signal));
      throwIfAborted(opts.signal);
      if (!der)
        throw malformedInput(
          'ERR_SNP_VCEK_MISSING',
          `snp evidence carries no ${key.toUpperCase()} certificate and no provider supplied one`,
        );
      return verifySnp(chains, crls, ev.report, first, der, expected, opts.now ?? new Date());
    },
  };
}

function verifySnp(
  chains: readonly AmdChain[],
  crls: readonly AmdCrl[],
  raw: Uint8Array,
  first: SnpReport,
  der: Uint8Array,
  expected: ExpectedBinding,
  now: Date,
): Claims {
  const vek = parseCertificate(der, `snp ${first.signingKey} certificate`, 'ERR_SNP_VCEK_CHAIN');
  checkAmdRevocation(verifyVekChain(vek, chains, now), vek, crls, now);
  const ext = parseVekExtensions(new Uint8Array(vek.raw));
  const report =
    ext.product && ext.product !== first.product ? parseReport(raw, ext.product) : first;
  checkTcbAndChip(report, ext);
  checkSignature(report, vek);
  checkBinding('snp', expected, report.reportData, { field: 'HOST_DATA', value: report.hostData });
  return snpClaims(report, ext.productName);
}
