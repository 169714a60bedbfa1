// The attestation agent's event log against RTMR3: positive cases on a quote body whose RTMR3 is
// the replayed value (no genuine quote in the testdata carries an AAEL), negative cases through
// the whole verifier with a genuine quote.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { verifyAael } from '#attestation/verifier/tdx/aael-check.js';
import { createVerifier } from '#attestation/verifier/index.js';
import {
  formatAaelEvent,
  formatAaelInit,
  parseAael,
  replayAael,
  type TdxQuote,
} from '#src/tee/index.js';
import { parseTdxQuote } from '#src/tee/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const TDX = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'evidence', 'tdx', 'dcapqvl_b0c06f_v4');
const HAVE = existsSync(TDX);
if (!HAVE) console.log(`skipping AAEL verifier tests on a genuine quote: ${TDX} is missing`);

const LOG = `${[
  formatAaelInit('sha384', new Uint8Array(48)),
  formatAaelEvent(
    'github.com/confidential-containers',
    'PullImage',
    '{"image":"a","digest":"sha256:00"}',
  ),
  formatAaelEvent(
    'github.com/confidential-containers',
    'PullImage',
    '{"image":"b","digest":"sha256:11"}',
  ),
  formatAaelEvent('d', 'o', 'c'),
].join('\n')}\n`;

const quoteWithRtmr3 = (rtmr3: Uint8Array): TdxQuote =>
  ({
    body: { rtmr: [new Uint8Array(48), new Uint8Array(48), new Uint8Array(48), rtmr3] },
  }) as unknown as TdxQuote;

describe('verifyAael', () => {
  test('accepts a log that replays to RTMR3 and gives the aael claim', () => {
    const q = quoteWithRtmr3(replayAael(parseAael(LOG)));
    expect(verifyAael(q, LOG)).toEqual({
      'github.com/confidential-containers/PullImage': [
        '{"image":"a","digest":"sha256:00"}',
        '{"image":"b","digest":"sha256:11"}',
      ],
      'd/o': ['c'],
    });
  });

  test.each([
    ['a changed event', (t: string) => t.replace('"a"', '"x"')],
    ['a dropped event', (t: string) => t.replace(/d o c\n$/, '')],
    [
      'reordered events',
      (t: string) => t.replace('"a"', '"t"').replace('"b"', '"a"').replace('"t"', '"b"'),
    ],
  ])('refuses %s', (_n, mutate) => {
    const q = quoteWithRtmr3(replayAael(parseAael(LOG)));
    expect(() => verifyAael(q, mutate(LOG))).toThrow(
      expect.objectContaining({ code: 'ERR_TDX_AAEL_RTMR_MISMATCH', kind: 'permission_denied' }),
    );
  });
});

describe('TDX verifier with aa_eventlog', () => {
  const quote = HAVE ? new Uint8Array(readFileSync(join(TDX, 'quote.bin'))) : new Uint8Array(0);
  const evidence = (aa: unknown) => ({
    cc_eventlog: null,
    quote: Buffer.from(quote).toString('base64'),
    aa_eventlog: aa,
  });
  const verify = (aa: unknown) =>
    createVerifier('tdx').verify(
      evidence(aa),
      { reportData: HAVE ? parseTdxQuote(quote).body.reportData : undefined },
      { now: new Date('2025-07-19T10:00:34Z') },
    );

  test.skipIf(!HAVE)('refuses a log that does not replay to the quote RTMR3', async () => {
    await expect(verify(LOG)).rejects.toMatchObject({ code: 'ERR_TDX_AAEL_RTMR_MISMATCH' });
  });

  test.skipIf(!HAVE)('refuses a log that does not parse', async () => {
    await expect(verify('not an aael\n')).rejects.toMatchObject({ code: 'ERR_TDX_AAEL_MALFORMED' });
  });

  test.skipIf(!HAVE)('refuses a non-string aa_eventlog', async () => {
    await expect(verify(42)).rejects.toMatchObject({ code: 'ERR_EVIDENCE_MALFORMED' });
  });

  test.skipIf(!HAVE)('ignores a null or empty log (no aael claim)', async () => {
    for (const aa of [null, '']) expect((await verify(aa))['aael']).toBeUndefined();
  });
});
