import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createVerifier } from '#attestation/verifier/index.js';
import {
  NATIVE_TEE_DEVICE,
  NODE_TSM_FS,
  SNP_MAX_CERT_PAGES,
  createSnpAttester,
  encodeSnpCertTable,
} from '#guest/attester/index.js';
import { isAvailable } from '#native/index.js';
import { parseSnpReport } from '#src/tee/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { tmpdir } from '#test/helpers/tmpdir.js';
import { fakeSevGuest } from './fake-sev-guest.js';
import { fakeTsm } from './fake-tsm.js';

const SNP = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'evidence', 'snp');
const HAVE = existsSync(SNP);
if (!HAVE) console.log(`skipping snp ioctl tests: ${SNP} is missing`);
const bytes = (...p: string[]): Uint8Array => new Uint8Array(readFileSync(join(SNP, ...p)));

describe('createSnpAttester through /dev/sev-guest (no configfs-tsm)', () => {
  let dir: ReturnType<typeof tmpdir>;
  beforeEach(() => {
    dir = tmpdir();
    mkdirSync(join(dir.path, 'dev'));
    writeFileSync(join(dir.path, 'dev', 'sev-guest'), '');
  });
  afterEach(() => {
    dir.remove();
  });

  test.skipIf(!HAVE)(
    'gives the same evidence as configfs-tsm, and the KBS verifier accepts it',
    async () => {
      const report = bytes('trustee_milan_v2', 'report.bin');
      const vcek = bytes('trustee_milan_v2', 'vcek.der');
      const rd = parseSnpReport(report).reportData;
      const table = encodeSnpCertTable([{ certType: 'VCEK', data: vcek }]);
      const { device, calls } = fakeSevGuest({ report, certs: table });
      const viaIoctl = await createSnpAttester({ root: dir.path, device, vmpl: 0 }).getEvidence(rd);
      expect(calls).toEqual([
        { request: 'SNP_GET_EXT_REPORT', userData: rd, vmpl: 0, certPages: 4 },
      ]);

      const tsmRoot = tmpdir();
      try {
        const { fs } = fakeTsm(tsmRoot.path, {
          provider: 'sev_guest',
          outblob: report,
          auxblob: table,
        });
        const viaTsm = await createSnpAttester({ root: tsmRoot.path, fs }).getEvidence(rd);
        expect(viaIoctl).toEqual(viaTsm);
      } finally {
        tsmRoot.remove();
      }
      const claims = await createVerifier('snp').verify(
        JSON.parse(JSON.stringify(viaIoctl)),
        { reportData: rd },
        { now: new Date('2024-06-01T00:00:00Z') },
      );
      expect(claims['report_data']).toBe(Buffer.from(rd).toString('hex'));
    },
  );

  test.skipIf(!HAVE)('grows the certificate buffer when the host answers INVALID_LEN', async () => {
    const report = bytes('trustee_milan_v2', 'report.bin');
    const vcek = bytes('trustee_milan_v2', 'vcek.der');
    const big = new Uint8Array(5 * 4096 + 100).fill(7);
    const table = encodeSnpCertTable([
      { certType: 'VCEK', data: vcek },
      { certType: 'CRL', data: big },
    ]);
    const { device, calls } = fakeSevGuest({ report, certs: table });
    const ev = (await createSnpAttester({ root: dir.path, device }).getEvidence(
      new Uint8Array(64),
    )) as { cert_chain: { cert_type: string; data: number[] }[] };
    expect(calls.map((c) => c.certPages)).toEqual([4, Math.ceil(table.length / 4096)]);
    expect(ev.cert_chain.map((c) => c.cert_type)).toEqual(['VCEK', 'CRL']);
    expect(ev.cert_chain[1]?.data.length).toBe(big.length);
  });

  test.each([
    ['more pages than the limit', SNP_MAX_CERT_PAGES + 1],
    ['no more than it already got', 4],
  ])('refuses a host that asks for %s', async (_n, claimPages) => {
    if (!HAVE) return;
    const { device, calls } = fakeSevGuest({
      report: bytes('gosev_milan_v2', 'report.bin'),
      claimPages,
    });
    await expect(
      createSnpAttester({ root: dir.path, device }).getEvidence(new Uint8Array(64)),
    ).rejects.toMatchObject({ code: 'ERR_ATTESTER_IOCTL', kind: 'internal' });
    expect(calls).toHaveLength(1);
  });

  test.skipIf(!HAVE)('sends cert_chain null when the host has no certificates', async () => {
    const { device } = fakeSevGuest({ report: bytes('gosev_milan_v2', 'report.bin') });
    const ev = (await createSnpAttester({ root: dir.path, device }).getEvidence(
      new Uint8Array(64),
    )) as { cert_chain: unknown };
    expect(ev.cert_chain).toBeNull();
  });

  test.skipIf(!HAVE)('reads HOST_DATA with SNP_GET_REPORT (no certificate buffer)', async () => {
    const report = bytes('gosev_milan_v2', 'report.bin');
    const { device, calls } = fakeSevGuest({ report });
    const field = await createSnpAttester({ root: dir.path, device, vmpl: 2 }).initDataField?.();
    expect(field).toEqual(parseSnpReport(report).hostData);
    expect(calls).toEqual([
      { request: 'SNP_GET_REPORT', userData: new Uint8Array(64), vmpl: 2, certPages: 0 },
    ]);
  });

  test.each([
    ['a firmware status', { status: 0x16 }, /status 0x16/],
    ['a wrong report_size', { reportSize: 1000 }, /report_size is 1000/],
  ])('refuses MSG_REPORT_RSP with %s', async (_n, over, message) => {
    if (!HAVE) return;
    const { device } = fakeSevGuest({ report: bytes('gosev_milan_v2', 'report.bin'), ...over });
    await expect(
      createSnpAttester({ root: dir.path, device }).getEvidence(new Uint8Array(64)),
    ).rejects.toMatchObject({
      code: 'ERR_ATTESTER_EVIDENCE',
      message: expect.stringMatching(message),
    });
  });

  test.each([
    ['EIO', 'internal'],
    ['EBUSY', 'unavailable'],
  ])('reports %s with the firmware error', async (errno, kind) => {
    if (!HAVE) return;
    const { device } = fakeSevGuest({
      report: bytes('gosev_milan_v2', 'report.bin'),
      fail: { errno, fwError: 0x27 },
    });
    await expect(
      createSnpAttester({ root: dir.path, device }).getEvidence(new Uint8Array(64)),
    ).rejects.toMatchObject({
      code: 'ERR_ATTESTER_IOCTL',
      kind,
      message: expect.stringMatching(new RegExp(`${errno} \\(firmware error 0x27, vmm error 0\\)`)),
    });
  });

  test('refuses a vmpl outside 0..3 before any ioctl', async () => {
    const { device, calls } = fakeSevGuest({ report: new Uint8Array(1184) });
    await expect(
      createSnpAttester({ root: dir.path, device, vmpl: 4 }).getEvidence(new Uint8Array(64)),
    ).rejects.toMatchObject({ code: 'ERR_ATTESTER_IOCTL', kind: 'invalid_argument' });
    expect(calls).toEqual([]);
  });

  test.skipIf(!HAVE)('prefers configfs-tsm when both exist (upstream order)', async () => {
    const report = bytes('gosev_milan_v2', 'report.bin');
    const { fs } = fakeTsm(dir.path, { provider: 'sev_guest', outblob: report });
    const { device, calls } = fakeSevGuest({ report });
    await createSnpAttester({ root: dir.path, fs, device }).getEvidence(new Uint8Array(64));
    expect(calls).toEqual([]);
  });

  test.skipIf(!isAvailable())(
    'the native device answers ENOTTY on a node that is not the driver, as unavailable',
    async () => {
      await expect(
        createSnpAttester({ root: dir.path, device: NATIVE_TEE_DEVICE }).getEvidence(
          new Uint8Array(64),
        ),
      ).rejects.toMatchObject({
        code: 'ERR_ATTESTER_IOCTL',
        kind: 'unavailable',
        message: expect.stringMatching(/dev\/sev-guest SNP_GET_EXT_REPORT: ENOTTY/),
      });
    },
  );
});

describe('createSnpAttester with neither path', () => {
  test('names both missing paths', async () => {
    const dir = tmpdir();
    try {
      await expect(
        createSnpAttester({ root: dir.path, fs: NODE_TSM_FS }).getEvidence(new Uint8Array(64)),
      ).rejects.toMatchObject({
        code: 'ERR_ATTESTER_UNAVAILABLE',
        kind: 'unavailable',
        message: expect.stringMatching(/neither configfs-tsm .* nor .*dev\/sev-guest exists/),
      });
    } finally {
      dir.remove();
    }
  });
});
