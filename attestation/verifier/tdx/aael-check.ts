import { equalBytes, toHex } from '#src/lib/index.js';
import { TeeError, aaelClaims, parseAael, replayAael, type TdxQuote } from '#src/tee/index.js';
import { denied, malformedInput } from '../errors.js';

/**
 * The attestation agent's event log check (Trustee's `aa_eventlog` integrity check): the AAEL
 * parses and, replayed from its INIT value, gives exactly the quote's RTMR3 (PCR 17); its events
 * become the `aael` claim `{"<domain>/<operation>": [content, …]}`.
 */
export function verifyAael(quote: TdxQuote, text: string): Record<string, string[]> {
  let log;
  let value: Uint8Array;
  try {
    log = parseAael(text);
    value = replayAael(log);
  } catch (err) {
    if (err instanceof TeeError)
      throw malformedInput('ERR_TDX_AAEL_MALFORMED', `tdx aa event log: ${err.message}`, err);
    throw err;
  }
  const rtmr3 = quote.body.rtmr[3];
  if (!equalBytes(value, rtmr3))
    throw denied(
      'ERR_TDX_AAEL_RTMR_MISMATCH',
      `tdx aa event log check failed: replaying the log gives ${toHex(value)}, the quote's RTMR3 is ${toHex(rtmr3)}`,
    );
  return aaelClaims(log);
}
