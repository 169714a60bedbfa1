import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createVerifier } from '#attestation/verifier/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const FILE = join(
  PROJECT_ROOT,
  '..',
  'shared',
  'testdata',
  'evidence',
  'sample',
  'trustee_sample_tee_evidence.constructed.json',
);
const evidence = existsSync(FILE)
  ? JSON.parse(readFileSync(FILE, 'utf8'))
  : {
      svn: '1',
      report_data: Buffer.from(Array.from({ length: 64 }, (_, i) => i)).toString('base64'),
    };
const RD = new Uint8Array(Array.from({ length: 64 }, (_, i) => i));

describe('sample verifier', () => {
  test('refuses sample evidence unless allowSample is set', async () => {
    await expect(
      createVerifier('sample').verify(evidence, { reportData: RD }),
    ).rejects.toMatchObject({ code: 'ERR_SAMPLE_NOT_ALLOWED', kind: 'permission_denied' });
    await expect(
      createVerifier('sample', { allowSample: false }).verify(evidence, {}),
    ).rejects.toMatchObject({ code: 'ERR_SAMPLE_NOT_ALLOWED' });
  });

  test('accepts Trustee sample evidence bound to the expected report data', async () => {
    const claims = await createVerifier('sample', { allowSample: true }).verify(evidence, {
      reportData: RD,
    });
    expect(claims).toEqual({ svn: '1', report_data: Buffer.from(RD).toString('hex') });
  });

  test('checks the report data binding', async () => {
    await expect(
      createVerifier('sample', { allowSample: true }).verify(evidence, {
        reportData: new Uint8Array(64),
      }),
    ).rejects.toMatchObject({ code: 'ERR_REPORT_DATA_MISMATCH' });
  });

  test('binds init_data to the expected initdata digest and reports it as a claim', async () => {
    const digest = new Uint8Array(32).fill(5);
    const ev = { ...evidence, init_data: Buffer.from(digest).toString('base64') };
    const v = createVerifier('sample', { allowSample: true });
    expect(await v.verify(ev, { reportData: RD, initDataDigest: digest })).toMatchObject({
      init_data: Buffer.from(digest).toString('hex'),
    });
    await expect(
      v.verify(ev, { reportData: RD, initDataDigest: new Uint8Array(32).fill(6) }),
    ).rejects.toMatchObject({ code: 'ERR_INIT_DATA_MISMATCH', kind: 'permission_denied' });
    await expect(
      v.verify(evidence, { reportData: RD, initDataDigest: digest }),
    ).rejects.toMatchObject({ code: 'ERR_INIT_DATA_MISMATCH' });
  });

  test.each([
    null,
    { svn: '1', report_data: '', init_data: 7 },
    'x',
    [],
    { svn: 1, report_data: '' },
    { svn: '1', report_data: '***' },
    { svn: '1', report_data: '', more: 1 },
  ])('rejects malformed evidence %j', async (ev) => {
    await expect(
      createVerifier('sample', { allowSample: true }).verify(ev, {}),
    ).rejects.toMatchObject({ code: 'ERR_EVIDENCE_MALFORMED', kind: 'invalid_argument' });
  });

  test('honours an aborted signal', async () => {
    await expect(
      createVerifier('sample', { allowSample: true }).verify(
        evidence,
        {},
        { signal: AbortSignal.abort() },
      ),
    ).rejects.toMatchObject({ kind: 'cancelled' });
  });
});
