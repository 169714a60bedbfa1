import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  TeeError,
  decodeSnpPolicy,
  decodeSnpTcb,
  parseSnpReport,
  snpProductFromCpuid,
  snpReportFromSevJson,
  snpReportToSevJson,
} from '#src/tee/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const EV = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'evidence');
const HAVE = existsSync(join(EV, 'snp'));
if (!HAVE) console.log(`skipping SNP report parser tests on real reports: ${EV} is missing`);

describe('SNP TCB and policy decoding', () => {
  const raw = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  test('Milan and Genoa read bootloader=byte0 tee=byte1 snp=byte6 microcode=byte7', () => {
    expect(decodeSnpTcb(raw, 'milan')).toMatchObject({
      bootloader: 1,
      tee: 2,
      snp: 7,
      microcode: 8,
    });
    expect(decodeSnpTcb(raw, undefined).fmc).toBeUndefined();
    expect(decodeSnpTcb(raw, 'genoa')).toMatchObject({
      bootloader: 1,
      tee: 2,
      snp: 7,
      microcode: 8,
    });
  });
  test('Turin reads fmc=byte0 bootloader=byte1 tee=byte2 snp=byte3 microcode=byte7', () => {
    expect(decodeSnpTcb(raw, 'turin')).toMatchObject({
      fmc: 1,
      bootloader: 2,
      tee: 3,
      snp: 4,
      microcode: 8,
    });
  });
  test('CPUID family 0x1A is Turin, 0x19 model ≥ 0x10 Genoa, else Milan', () => {
    expect(snpProductFromCpuid(0x1a, 0x2)).toBe('turin');
    expect(snpProductFromCpuid(0x19, 0xa0)).toBe('genoa');
    expect(snpProductFromCpuid(0x19, 0x11)).toBe('genoa');
    expect(snpProductFromCpuid(0x19, 0x01)).toBe('milan');
    expect(snpProductFromCpuid(0x17, 0x01)).toBeUndefined();
  });
  test('policy 0xb0000 allows SMT and debug; 0x3001f is ABI 0.31', () => {
    expect(decodeSnpPolicy(0xb0000n)).toMatchObject({
      smtAllowed: true,
      debugAllowed: true,
      migrateMa: false,
      singleSocket: false,
      abiMajor: 0,
      abiMinor: 0,
    });
    expect(decodeSnpPolicy(0x3001fn)).toMatchObject({
      abiMinor: 31,
      debugAllowed: false,
      smtAllowed: true,
    });
    expect(decodeSnpPolicy(0x1c0000n)).toMatchObject({
      migrateMa: true,
      debugAllowed: true,
      singleSocket: true,
    });
  });
});

describe.skipIf(!HAVE)('parseSnpReport', () => {
  const report = (dir: string, file = 'report.bin'): Uint8Array =>
    new Uint8Array(readFileSync(join(EV, 'snp', dir, file)));

  test('parses v2, v3 and v5 reports', () => {
    expect(parseSnpReport(report('gosev_milan_v2'))).toMatchObject({
      version: 2,
      product: undefined,
      signingKey: 'vcek',
      vmpl: 0,
      cpuid: undefined,
    });
    const v3 = parseSnpReport(report('trustee_e2e_genoa_v3', 'report.reconstructed.bin'));
    expect(v3).toMatchObject({
      version: 3,
      product: 'genoa',
      cpuid: { family: 0x19, model: 0xa0, stepping: 2 },
    });
    expect(v3.reportedTcb).toMatchObject({ bootloader: 10, tee: 0, snp: 23, microcode: 25 });
    const v5 = parseSnpReport(report('oak_genoa_v5'));
    expect(v5).toMatchObject({ version: 5, launchMitVector: 1n, currentMitVector: 1n });
    expect(v5.currentVersion).toEqual({ major: 1, minor: 55, build: 43 });
  });

  test('every length other than 1184 throws a TeeError', () => {
    const raw = report('gosev_milan_v2');
    for (let cut = 0; cut < raw.byteLength; cut++)
      expect(() => parseSnpReport(raw.subarray(0, cut))).toThrow(TeeError);
    expect(() => parseSnpReport(new Uint8Array(1185))).toThrow(/1185 bytes/);
  });

  test('random byte corruption either parses or throws a TeeError', () => {
    const raw = report('trustee_milan_v2');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: raw.byteLength - 1 }),
        fc.integer({ min: 0, max: 255 }),
        (at, v) => {
          const copy = raw.slice();
          copy[at] = v;
          try {
            parseSnpReport(copy);
          } catch (err) {
            if (!(err instanceof TeeError)) throw err;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('rejects version 1, an unknown signature algorithm and a reserved signing key', () => {
    const a = report('gosev_milan_v2').slice();
    a[0] = 1;
    expect(() => parseSnpReport(a)).toThrow(/version at offset 0x0 is 1/);
    const b = report('gosev_milan_v2').slice();
    b[0x34] = 2;
    expect(() => parseSnpReport(b)).toThrow(/signature_algo/);
    const c = report('gosev_milan_v2').slice();
    c[0x48] = 0x8;
    expect(() => parseSnpReport(c)).toThrow(/signing_key/);
  });
});

describe('snpReportFromSevJson', () => {
  test('rejects wrong shapes with a path, never a TypeError', () => {
    expect(() => snpReportFromSevJson(null)).toThrow(TeeError);
    expect(() => snpReportFromSevJson({ version: 2 })).toThrow(/attestation_report\.guest_svn/);
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          snpReportFromSevJson(v);
        } catch (err) {
          if (!(err instanceof TeeError)) throw err;
        }
      }),
    );
  });

  test.skipIf(!HAVE)('rebuilds the report of the trustee e2e evidence byte for byte', () => {
    const ev = JSON.parse(
      readFileSync(join(EV, 'sample', 'trustee_e2e_snp_evidence.json'), 'utf8'),
    );
    const rebuilt = snpReportFromSevJson(ev.attestation_report);
    expect(
      Buffer.from(rebuilt).equals(
        readFileSync(join(EV, 'snp', 'trustee_e2e_genoa_v3', 'report.reconstructed.bin')),
      ),
    ).toBe(true);
  });
});

describe.skipIf(!HAVE)('snpReportToSevJson', () => {
  test.each([
    ['gosev_milan_v2', 'report.bin'],
    ['trustee_milan_v2', 'report.bin'],
    ['trustee_milan_vlek_v3', 'report.bin'],
    ['trustee_e2e_genoa_v3', 'report.reconstructed.bin'],
    ['trustee_azure_milan_v2', 'report.bin'],
    ['oak_genoa_v5', 'report.bin'],
  ])('round-trips %s through the sev crate JSON form byte for byte', (dir, file) => {
    const raw = new Uint8Array(readFileSync(join(EV, 'snp', dir, file)));
    const json = JSON.parse(JSON.stringify(snpReportToSevJson(raw)));
    expect(Buffer.from(snpReportFromSevJson(json)).equals(Buffer.from(raw))).toBe(true);
  });

  test('encodes a Turin TCB (fmc set) with the Turin layout', () => {
    const raw = new Uint8Array(readFileSync(join(EV, 'snp', 'gosev_milan_v2', 'report.bin')));
    const json = snpReportToSevJson(raw);
    json['reported_tcb'] = { fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 5 };
    const back = snpReportFromSevJson(json);
    expect(Array.from(back.subarray(0x180, 0x188))).toEqual([1, 2, 3, 4, 0, 0, 0, 5]);
  });
});
