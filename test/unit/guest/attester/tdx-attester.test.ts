import { mkdirSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createVerifier } from '#attestation/verifier/index.js';
import { CCEL_PATH, createTdxAttester, tsmReportDir } from '#guest/attester/index.js';
import { parseTdxQuote } from '#src/tee/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { tmpdir } from '#test/helpers/tmpdir.js';
import { fakeTsm } from './fake-tsm.js';

const TDX = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'evidence', 'tdx');
const HAVE = existsSync(TDX);
if (!HAVE) console.log(`skipping tdx attester tests: ${TDX} is missing`);
const quoteOf = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(join(TDX, name, 'quote.bin')));

describe('createTdxAttester', () => {
  let dir: ReturnType<typeof tmpdir>;
  beforeEach(() => {
    dir = tmpdir();
  });
  afterEach(() => {
    dir.remove();
  });

  test.skipIf(!HAVE)(
    'produces Trustee tdx evidence from configfs-tsm that the KBS verifier accepts',
    async () => {
      const quote = quoteOf('dcapqvl_b0c06f_v4');
      const rd = parseTdxQuote(quote).body.reportData;
      const { fs, inblobs } = fakeTsm(dir.path, { provider: 'tdx_guest', outblob: quote });
      const evidence = await createTdxAttester({ root: dir.path, fs }).getEvidence(rd);
      expect(Object.keys(evidence as object)).toEqual(['cc_eventlog', 'quote']);
      expect(evidence).toMatchObject({
        cc_eventlog: null,
        quote: Buffer.from(quote).toString('base64'),
      });
      expect(inblobs).toEqual([rd]);
      expect(readdirSync(tsmReportDir(dir.path))).toEqual([]);
      const claims = await createVerifier('tdx').verify(
        evidence,
        { reportData: rd },
        { now: new Date('2025-07-19T10:00:34Z') },
      );
      expect(claims['report_data']).toBe(Buffer.from(rd).toString('hex'));
    },
  );

  test.skipIf(!HAVE)(
    'includes the CCEL table as cc_eventlog when the firmware publishes it',
    async () => {
      const { fs } = fakeTsm(dir.path, {
        provider: 'tdx_guest',
        outblob: quoteOf('trustee_90c06f_v5'),
      });
      mkdirSync(join(dir.path, CCEL_PATH, '..'), { recursive: true });
      writeFileSync(join(dir.path, CCEL_PATH), Buffer.from('ccel-bytes'));
      const ev = (await createTdxAttester({ root: dir.path, fs }).getEvidence(
        new Uint8Array(64),
      )) as { cc_eventlog: string };
      expect(Buffer.from(ev.cc_eventlog, 'base64').toString()).toBe('ccel-bytes');
    },
  );

  test.skipIf(!HAVE)('reads MRCONFIGID as the initdata field', async () => {
    const quote = quoteOf('gotdx_spr_e4_v4');
    const { fs } = fakeTsm(dir.path, { provider: 'tdx_guest', outblob: quote });
    expect(await createTdxAttester({ root: dir.path, fs }).initDataField?.()).toEqual(
      parseTdxQuote(quote).body.mrConfigId,
    );
  });

  test.each([
    ['a wrong provider', { provider: 'sev_guest' }, 'ERR_ATTESTER_UNSUPPORTED'],
    ['a generation race', { provider: 'tdx_guest', race: true }, 'ERR_ATTESTER_TSM_RACE'],
    ['a malformed quote', { provider: 'tdx_guest', bad: true }, 'ERR_ATTESTER_EVIDENCE'],
  ])('refuses %s', async (_name, o, code) => {
    const outblob =
      'bad' in o ? new Uint8Array(100) : HAVE ? quoteOf('trustee_90c06f_v5') : new Uint8Array(100);
    const { fs } = fakeTsm(dir.path, { provider: o.provider, outblob, race: 'race' in o });
    await expect(
      createTdxAttester({ root: dir.path, fs }).getEvidence(new Uint8Array(64)),
    ).rejects.toMatchObject({ code });
    expect(readdirSync(tsmReportDir(dir.path))).toEqual([]);
  });

  test('answers unavailable with a clear message without configfs-tsm', async () => {
    await expect(
      createTdxAttester({ root: dir.path }).getEvidence(new Uint8Array(64)),
    ).rejects.toMatchObject({
      kind: 'unavailable',
      code: 'ERR_ATTESTER_UNAVAILABLE',
      message: expect.stringContaining('configfs-tsm') as unknown,
    });
  });

  test('rejects report data longer than 64 bytes', async () => {
    const { fs } = fakeTsm(dir.path, { provider: 'tdx_guest', outblob: new Uint8Array(10) });
    await expect(
      createTdxAttester({ root: dir.path, fs }).getEvidence(new Uint8Array(65)),
    ).rejects.toMatchObject({ code: 'ERR_ATTESTER_REPORT_DATA' });
  });
});
