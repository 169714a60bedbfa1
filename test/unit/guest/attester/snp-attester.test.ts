import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createVerifier } from '#attestation/verifier/index.js';
import { createSnpAttester, encodeSnpCertTable, parseSnpCertTable } from '#guest/attester/index.js';
import { parseSnpReport, snpReportFromSevJson } from '#src/tee/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { tmpdir } from '#test/helpers/tmpdir.js';
import { fakeTsm } from './fake-tsm.js';

const SNP = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'evidence', 'snp');
const HAVE = existsSync(SNP);
if (!HAVE) console.log(`skipping snp attester tests: ${SNP} is missing`);
const bytes = (...p: string[]): Uint8Array => new Uint8Array(readFileSync(join(SNP, ...p)));

describe('createSnpAttester', () => {
  let dir: ReturnType<typeof tmpdir>;
  beforeEach(() => {
    dir = tmpdir();
  });
  afterEach(() => {
    dir.remove();
  });

  test.skipIf(!HAVE)(
    'produces sev-crate evidence with the VCEK from auxblob that the KBS verifier accepts',
    async () => {
      const report = bytes('trustee_milan_v2', 'report.bin');
      const vcek = bytes('trustee_milan_v2', 'vcek.der');
      const rd = parseSnpReport(report).reportData;
      const auxblob = encodeSnpCertTable([{ certType: 'VCEK', data: vcek }]);
      const { fs, inblobs } = fakeTsm(dir.path, {
        provider: 'sev_guest',
        outblob: report,
        auxblob,
      });
      const evidence = await createSnpAttester({ root: dir.path, fs, vmpl: 0 }).getEvidence(rd);
      const ev = evidence as {
        attestation_report: unknown;
        cert_chain: { cert_type: string; data: number[] }[];
      };
      expect(Object.keys(ev)).toEqual(['attestation_report', 'cert_chain']);
      expect(snpReportFromSevJson(ev.attestation_report)).toEqual(report);
      expect(ev.cert_chain).toEqual([{ cert_type: 'VCEK', data: [...vcek] }]);
      expect(inblobs).toEqual([rd]);
      const claims = await createVerifier('snp').verify(
        JSON.parse(JSON.stringify(evidence)),
        { reportData: rd },
        { now: new Date('2024-06-01T00:00:00Z') },
      );
      expect(claims['report_data']).toBe(Buffer.from(rd).toString('hex'));
    },
  );

  test.skipIf(!HAVE)(
    'sends cert_chain null when the host supplies no certificate table',
    async () => {
      const { fs } = fakeTsm(dir.path, {
        provider: 'sev_guest',
        outblob: bytes('gosev_milan_v2', 'report.bin'),
      });
      const ev = (await createSnpAttester({ root: dir.path, fs }).getEvidence(
        new Uint8Array(64),
      )) as { cert_chain: unknown };
      expect(ev.cert_chain).toBeNull();
    },
  );

  test.skipIf(!HAVE)('reads HOST_DATA as the initdata field', async () => {
    const report = bytes('gosev_milan_v2', 'report.bin');
    const { fs } = fakeTsm(dir.path, { provider: 'sev_guest', outblob: report });
    expect(await createSnpAttester({ root: dir.path, fs }).initDataField?.()).toEqual(
      parseSnpReport(report).hostData,
    );
  });

  test('refuses a short report', async () => {
    const { fs } = fakeTsm(dir.path, { provider: 'sev_guest', outblob: new Uint8Array(1000) });
    await expect(
      createSnpAttester({ root: dir.path, fs }).getEvidence(new Uint8Array(64)),
    ).rejects.toMatchObject({ code: 'ERR_ATTESTER_EVIDENCE' });
  });
});

describe('parseSnpCertTable', () => {
  test('round-trips known and unknown certificate types', () => {
    const entries = [
      { certType: 'VCEK', data: new Uint8Array([1, 2, 3]) },
      { certType: 'ASK', data: new Uint8Array([4]) },
      { certType: 'OTHER(00112233-4455-6677-8899-aabbccddeeff)', data: new Uint8Array([5, 6]) },
    ];
    expect(parseSnpCertTable(encodeSnpCertTable(entries))).toEqual(entries);
  });

  test.each([
    ['has no terminator', (t: Uint8Array) => t.subarray(0, 24)],
    [
      'points outside the table',
      (t: Uint8Array) => {
        const c = t.slice();
        new DataView(c.buffer).setUint32(20, 9999, true);
        return c;
      },
    ],
    ['is empty', () => new Uint8Array(0)],
  ])('rejects a table that %s', (_n, mutate) => {
    const table = encodeSnpCertTable([{ certType: 'VCEK', data: new Uint8Array(8) }]);
    expect(() => parseSnpCertTable(mutate(table))).toThrow(
      expect.objectContaining({ code: 'ERR_ATTESTER_EVIDENCE' }),
    );
  });
});
