import { TeeError, snpReportFromSevJson } from '#src/tee/index.js';
import { malformedInput } from '../errors.js';

/** SNP evidence after decoding: the 1184-byte report and the endorsement certificates supplied with it. */
export interface SnpEvidence {
  readonly report: Uint8Array;
  /** DER certificates by type (`vcek`, `vlek`, `ask`, `ark`, `asvk`). */
  readonly certs: readonly { readonly type: string; readonly der: Uint8Array }[];
}

/** Raw evidence (a report read from /dev/sev-guest plus its VCEK/VLEK DER), e.g. from the CLI. */
export interface SnpRawEvidence {
  readonly report: Uint8Array;
  readonly certs?: readonly { readonly type: string; readonly der: Uint8Array }[] | undefined;
}

function isRaw(e: unknown): e is SnpRawEvidence {
  return (
    typeof e === 'object' && e !== null && (e as { report?: unknown }).report instanceof Uint8Array
  );
}

function certChain(raw: unknown): SnpEvidence['certs'] {
  if (raw === null || raw === undefined) return [];
  if (!Array.isArray(raw))
    throw malformedInput(
      'ERR_EVIDENCE_MALFORMED',
      'snp evidence .cert_chain: expected an array or null',
    );
  return raw.map((entry: unknown, i) => {
    const o = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const type = o['cert_type'];
    const data = o['data'];
    if (
      typeof type !== 'string' ||
      !Array.isArray(data) ||
      !data.every((b) => Number.isInteger(b) && (b as number) >= 0 && (b as number) <= 255)
    )
      throw malformedInput(
        'ERR_EVIDENCE_MALFORMED',
        `snp evidence .cert_chain[${i}]: expected {"cert_type": string, "data": [bytes]}`,
      );
    return { type: type.toLowerCase(), der: new Uint8Array(data as number[]) };
  });
}

/** Accepts Trustee's SNP evidence (`sev` crate serde shape) or SnpRawEvidence. */
export function parseSnpEvidence(evidence: unknown): SnpEvidence {
  if (isRaw(evidence)) return { report: evidence.report, certs: evidence.certs ?? [] };
  if (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence))
    throw malformedInput(
      'ERR_EVIDENCE_MALFORMED',
      'snp evidence: expected {"attestation_report": …, "cert_chain": …}',
    );
  const o = evidence as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k !== 'attestation_report' && k !== 'cert_chain')
      throw malformedInput('ERR_EVIDENCE_MALFORMED', `snp evidence: unknown member "${k}"`);
  }
  let report: Uint8Array;
  try {
    report = snpReportFromSevJson(o['attestation_report']);
  } catch (err) {
    if (err instanceof TeeError)
      throw malformedInput('ERR_SNP_REPORT_MALFORMED', `snp evidence: ${err.message}`, err);
    throw err;
  }
  return { report, certs: certChain(o['cert_chain']) };
}
