import { throwIfAborted, toHex } from '#src/lib/index.js';
import { denied, malformedInput } from '../errors.js';
import { checkBinding } from '../binding.js';
import type { Claims, ExpectedBinding, Verifier, VerifyOptions } from '../verifier.js';

export interface SampleVerifierOptions {
  /** The sample TEE proves nothing; it is refused unless the KBS policy explicitly allows it. */
  readonly allowSample?: boolean | undefined;
}

const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

interface SampleEvidence {
  readonly svn: string;
  readonly reportData: Uint8Array;
  readonly initData: Uint8Array | undefined;
}

function parseSample(evidence: unknown): SampleEvidence {
  if (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence))
    throw malformedInput(
      'ERR_EVIDENCE_MALFORMED',
      'sample evidence: expected {"svn": string, "report_data": base64, "init_data"?: base64}',
    );
  const o = evidence as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (k !== 'svn' && k !== 'report_data' && k !== 'init_data')
      throw malformedInput('ERR_EVIDENCE_MALFORMED', `sample evidence: unknown member "${k}"`);
  const init = o['init_data'];
  if (init !== undefined && (typeof init !== 'string' || !B64_RE.test(init)))
    throw malformedInput(
      'ERR_EVIDENCE_MALFORMED',
      'sample evidence .init_data: expected standard base64',
    );
  const svn = o['svn'];
  const rd = o['report_data'];
  if (typeof svn !== 'string')
    throw malformedInput('ERR_EVIDENCE_MALFORMED', 'sample evidence .svn: expected a string');
  if (typeof rd !== 'string' || !B64_RE.test(rd))
    throw malformedInput(
      'ERR_EVIDENCE_MALFORMED',
      'sample evidence .report_data: expected standard base64',
    );
  return {
    svn,
    reportData: new Uint8Array(Buffer.from(rd, 'base64')),
    initData: typeof init === 'string' ? new Uint8Array(Buffer.from(init, 'base64')) : undefined,
  };
}

/**
 * Trustee's sample verifier: `{"svn": …, "report_data": base64}`, plus kata-cc's optional
 * `"init_data": base64` (the initdata digest the host launched the guest with, unmeasured). When
 * the attest request carries init-data, the evidence must carry the matching digest.
 */
export function createSampleVerifier(options: SampleVerifierOptions = {}): Verifier {
  const allow = options.allowSample === true;
  return {
    tee: 'sample',
    verify(
      evidence: unknown,
      expected: ExpectedBinding,
      opts: VerifyOptions = {},
    ): Promise<Claims> {
      try {
        throwIfAborted(opts.signal);
        if (!allow)
          throw denied(
            'ERR_SAMPLE_NOT_ALLOWED',
            'sample tee evidence refused: the sample TEE is not allowed by policy',
          );
        const ev = parseSample(evidence);
        checkBinding(
          'sample',
          expected,
          ev.reportData,
          ev.initData === undefined ? undefined : { field: 'init_data', value: ev.initData },
        );
        return Promise.resolve({
          svn: ev.svn,
          report_data: toHex(ev.reportData),
          ...(ev.initData === undefined ? {} : { init_data: toHex(ev.initData) }),
        });
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
  };
}
