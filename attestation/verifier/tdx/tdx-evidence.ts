import { malformedInput } from '../errors.js';

/** TDX evidence after decoding: the raw quote and the optional CC event log. */
export interface TdxEvidence {
  readonly quote: Uint8Array;
  readonly ccEventLog: Uint8Array | undefined;
  /** The attestation agent's runtime event log (AAEL text), replayed against RTMR3. */
  readonly aaEventLog?: string | undefined;
}

const B64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

function decodeB64(v: unknown, at: string): Uint8Array {
  if (typeof v !== 'string' || !B64_RE.test(v))
    throw malformedInput('ERR_EVIDENCE_MALFORMED', `tdx evidence ${at}: expected a base64 string`);
  return new Uint8Array(
    Buffer.from(v, v.includes('-') || v.includes('_') ? 'base64url' : 'base64'),
  );
}

/**
 * Accepts Trustee's TDX evidence `{"cc_eventlog": <b64|null>, "quote": <b64>, "aa_eventlog"?:
 * <AAEL text|null>}` or the raw quote bytes.
 */
export function parseTdxEvidence(evidence: unknown): TdxEvidence {
  if (evidence instanceof Uint8Array) return { quote: evidence, ccEventLog: undefined };
  if (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence)) {
    throw malformedInput(
      'ERR_EVIDENCE_MALFORMED',
      'tdx evidence: expected {"cc_eventlog": …, "quote": …}',
    );
  }
  const o = evidence as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['quote', 'cc_eventlog', 'aa_eventlog'].includes(k))
      throw malformedInput('ERR_EVIDENCE_MALFORMED', `tdx evidence: unknown member "${k}"`);
  }
  const ccel = o['cc_eventlog'];
  const aael = o['aa_eventlog'];
  if (aael !== undefined && aael !== null && typeof aael !== 'string')
    throw malformedInput('ERR_EVIDENCE_MALFORMED', 'tdx evidence .aa_eventlog: expected a string');
  return {
    quote: decodeB64(o['quote'], '.quote'),
    ccEventLog: ccel === null || ccel === undefined ? undefined : decodeB64(ccel, '.cc_eventlog'),
    aaEventLog: typeof aael === 'string' && aael !== '' ? aael : undefined,
  };
}
