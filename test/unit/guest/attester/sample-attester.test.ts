import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createSampleVerifier } from '#attestation/verifier/index.js';
import { createAttester, createSampleAttester, detectTee } from '#guest/attester/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

describe('createSampleAttester', () => {
  test('produces Trustee sample evidence the sample verifier accepts', async () => {
    const rd = new Uint8Array(64).map((_, i) => i);
    const ev = await createSampleAttester().getEvidence(rd);
    expect(ev).toEqual({ svn: '1', report_data: Buffer.from(rd).toString('base64') });
    await expect(
      createSampleVerifier({ allowSample: true }).verify(ev, { reportData: rd }),
    ).resolves.toMatchObject({ svn: '1' });
  });

  test('zero-pads short report data to 64 bytes', async () => {
    const ev = (await createSampleAttester({ svn: '7' }).getEvidence(new Uint8Array([1]))) as {
      report_data: string;
    };
    expect(Buffer.from(ev.report_data, 'base64')).toHaveLength(64);
  });

  test('carries the bound initdata digest and keeps runtime measurements in a SHA-256 register', async () => {
    const a = createSampleAttester({ initDataDigest: new Uint8Array([9, 9]) });
    expect(await a.initDataField?.()).toEqual(new Uint8Array([9, 9]));
    expect(await a.getRuntimeMeasurement?.(17)).toEqual(new Uint8Array(32));
    const d = new Uint8Array(32).fill(1);
    await a.extendRuntimeMeasurement?.(3, d);
    expect(a.events).toEqual([{ index: 3, digest: d }]);
    const want = createHash('sha256').update(new Uint8Array(32)).update(d).digest();
    expect(await a.getRuntimeMeasurement?.(17)).toEqual(new Uint8Array(want));
    await expect(a.extendRuntimeMeasurement?.(3, new Uint8Array(48))).rejects.toMatchObject({
      kind: 'invalid_argument',
    });
  });
});

describe('detectTee', () => {
  let dir: ReturnType<typeof tmpdir>;
  beforeEach(() => {
    dir = tmpdir();
  });
  afterEach(() => {
    dir.remove();
  });

  test.each([
    ['tdx', ['dev/tdx_guest'], ''],
    ['tdx', [], 'flags\t: fpu tdx_guest\n'],
    ['snp', ['dev/sev-guest'], ''],
    ['snp', [], 'flags\t: fpu sev_snp\n'],
    ['tdx', ['dev/tdx_guest', 'dev/sev-guest'], ''],
    ['sample', [], 'flags\t: fpu vme\n'],
  ])('detects %s from devices %j and cpuinfo', async (tee, devices, cpuinfo) => {
    mkdirSync(join(dir.path, 'dev'));
    mkdirSync(join(dir.path, 'proc'));
    for (const d of devices) writeFileSync(join(dir.path, d), '');
    writeFileSync(join(dir.path, 'proc', 'cpuinfo'), cpuinfo);
    expect(await detectTee(dir.path)).toBe(tee);
    expect((await createAttester({ root: dir.path })).tee).toBe(tee);
  });
});
