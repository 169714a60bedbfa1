import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  createVerifier,
  loadAmdChains,
  parseCertificates,
  parseVekExtensions,
  verifyVekChain,
  type SnpRawEvidence,
} from '#attestation/verifier/index.js';
import { parseSnpReport, snpReportFromSevJson } from '#src/tee/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const EVIDENCE = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'evidence');
const HAVE = existsSync(join(EVIDENCE, 'snp'));
if (!HAVE) console.log(`skipping SNP evidence conformance: ${EVIDENCE} is missing`);
const snp = (...p: string[]): string => join(EVIDENCE, 'snp', ...p);
const bytes = (p: string): Uint8Array => new Uint8Array(readFileSync(p));

/** Facts from shared/testdata/evidence/README.md, per report folder. */
export const SNP_FACTS = {
  gosev_milan_v2: {
    version: 2,
    policy: 0xb0000,
    vmpl: 0,
    guest_svn: 0,
    signing_key: 'vcek',
    measurement:
      'b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01',
    report_data:
      '01020304050000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    init_data: '0000000000000000000000000000000000000000000000000000000000000000',
    chip_id:
      '3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d',
    reported_tcb_bootloader: 2,
    reported_tcb_tee: 0,
    reported_tcb_snp: 5,
    reported_tcb_microcode: 68,
  },
  trustee_milan_v2: {
    version: 2,
    policy: 0x3001f,
    vmpl: 0,
    guest_svn: 4,
    signing_key: 'vcek',
    measurement:
      'a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c',
    report_data:
      'ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e20000000000000000000000000000000000000000000000000000000000000000',
    init_data: '0000000000000000000000000000000000000000000000000000000000000000',
    chip_id:
      'c38427a30d4c7af9d96f7a15b97269825a64cb76a2352ffd5d18115d89ad473f8e8c0bcd9a5d9286612bad4aadfb4426205a3b9e4fea82301135a170e477524e',
    reported_tcb_bootloader: 3,
    reported_tcb_tee: 0,
    reported_tcb_snp: 8,
    reported_tcb_microcode: 115,
  },
  trustee_milan_vlek_v3: {
    version: 3,
    policy: 0x30000,
    vmpl: 1,
    guest_svn: 0,
    signing_key: 'vlek',
    measurement:
      '8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0',
    report_data:
      '819770b7e6ea6df8dd8fd4dd146b073c0bf4f3ce5b0977ecac486e3a05ed1bd54e2a7ac1f5d1ca02e7d7d5ef9f73b8574fd9359e3a480d741a4478e8a7bc27ca',
    init_data: '0000000000000000000000000000000000000000000000000000000000000000',
    chip_id:
      '00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    reported_tcb_bootloader: 4,
    reported_tcb_tee: 0,
    reported_tcb_snp: 24,
    reported_tcb_microcode: 217,
  },
  virtee_milan_v2: {
    version: 2,
    policy: 0x30000,
    vmpl: 0,
    guest_svn: 0,
    signing_key: 'vcek',
    measurement:
      '7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f',
    report_data:
      'd447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd',
    init_data: '0000000000000000000000000000000000000000000000000000000000000000',
    chip_id:
      'd49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc15d7af38db757039029f0efacfd08e244324884738c72b082e2f87a44d541eb6',
    reported_tcb_bootloader: 3,
    reported_tcb_tee: 0,
    reported_tcb_snp: 8,
    reported_tcb_microcode: 115,
  },
  trustee_e2e_genoa_v3: {
    version: 3,
    policy: 0x30000,
    vmpl: 0,
    guest_svn: 0,
    signing_key: 'vcek',
    measurement:
      '6a6519d757e68c2e939c9dbbbc1828498e8de35d2766dd05f1a2cca5059d0cf4ae62a36d75c837974dd50b315506e73e',
    report_data:
      '7e7320889600c7ac133aea7b896c51f41026002982292a7369559796999c1bf929eef3ff23c46e858f0b1982f9a92b17c51b578d958cde6b0c92978f150cf9b0',
    init_data: '0000000000000000000000000000000000000000000000000000000000000000',
    chip_id:
      '371c55d6d15cb50f16dc31d39a24e300caaabff4431e841111429b73ec45ad67ea6e687ffae7bf84b54a5d0e6d79b3ef6ff0bd8b4cff94c2163af5c5de8718e8',
    reported_tcb_bootloader: 10,
    reported_tcb_tee: 0,
    reported_tcb_snp: 23,
    reported_tcb_microcode: 25,
  },
  trustee_azure_milan_v2: {
    version: 2,
    policy: 0x3001f,
    vmpl: 0,
    guest_svn: 5,
    signing_key: 'vcek',
    measurement:
      '9ac48fcac8a2d88aeeff8d427ad4f2be0e3917c748a18bdf52cc317e7fe20308b459d5ef1a12e0c22944eb386d17c315',
    report_data:
      'b3fbad6514c83caeb0380882145e49f794229ef37c421b91fc47ff93556bafac0000000000000000000000000000000000000000000000000000000000000000',
    init_data: '0000000000000000000000000000000000000000000000000000000000000000',
    chip_id:
      '19752a447db501a32ade46428a46e92639bd3515dbb45e2e67bbcb0934ffcf1f3e3c004ccb4a99c9fa7e4ffb09da6b324ac58acedaf679f24ba7db5f838c6cca',
    reported_tcb_bootloader: 3,
    reported_tcb_tee: 0,
    reported_tcb_snp: 8,
    reported_tcb_microcode: 115,
  },
  oak_genoa_v5: {
    version: 5,
    policy: 0x30000,
    vmpl: 0,
    guest_svn: 0,
    signing_key: 'vcek',
    measurement:
      'c57729018b0a6fb90dc17bb138b0aa35e4401004283ff4a2c24d3739ff3750f52384370e77b7032862a08c440a9bc4dc',
    report_data:
      '8100555af0ad8e7525be6dffeed0af83e30bbacbf03b76e175e6894d1ed057ce0000000000000000000000000000000000000000000000000000000000000000',
    init_data: '0000000000000000000000000000000000000000000000000000000000000000',
    chip_id:
      'd2421d976f95ce0ba849b7cc5c789122f1e59c77a037272c137ae4d188bb102adbc7c53d0302bff82a432c94a305dec7a7a270ceb19a10f04a83316c6486968d',
    reported_tcb_bootloader: 10,
    reported_tcb_tee: 0,
    reported_tcb_snp: 25,
    reported_tcb_microcode: 84,
  },
} as const;

const FILES: Record<keyof typeof SNP_FACTS, { report: string; vek: string; at?: Date }> = {
  gosev_milan_v2: { report: 'report.bin', vek: 'vcek.der' },
  trustee_milan_v2: { report: 'report.bin', vek: 'vcek.der' },
  trustee_milan_vlek_v3: {
    report: 'report.bin',
    vek: 'vlek.der',
    at: new Date('2025-06-01T00:00:00Z'),
  },
  virtee_milan_v2: { report: 'report.hex', vek: 'vcek.der' },
  trustee_e2e_genoa_v3: { report: 'report.reconstructed.bin', vek: 'vcek.der' },
  trustee_azure_milan_v2: { report: 'report.bin', vek: 'vcek_ask_ark.pem' },
  oak_genoa_v5: { report: 'report.bin', vek: 'vcek.der' },
};

function reportOf(name: keyof typeof SNP_FACTS): Uint8Array {
  const p = snp(name, FILES[name].report);
  return p.endsWith('.hex')
    ? new Uint8Array(Buffer.from(readFileSync(p, 'utf8').trim(), 'hex'))
    : bytes(p);
}

function rawEvidence(
  name: keyof typeof SNP_FACTS,
  report = reportOf(name),
  vekPath = snp(name, FILES[name].vek),
): SnpRawEvidence {
  const first = parseCertificates(bytes(vekPath), 'vek', 'ERR_SNP_VCEK_CHAIN')[0]!;
  return { report, certs: [{ type: FACTS_KEY(name), der: new Uint8Array(first.raw) }] };
}

function FACTS_KEY(name: keyof typeof SNP_FACTS): string {
  return SNP_FACTS[name].signing_key;
}

describe.skipIf(!HAVE)('SNP evidence conformance (shared/testdata/evidence/snp)', () => {
  const verifier = createVerifier('snp');

  test.each(Object.keys(SNP_FACTS) as (keyof typeof SNP_FACTS)[])(
    '%s verifies at its recorded validity time and its claims equal the README facts',
    async (name) => {
      const f = SNP_FACTS[name];
      const { policy, signing_key, ...facts } = f;
      const claims = await verifier.verify(
        rawEvidence(name),
        {
          reportData: Buffer.from(f.report_data, 'hex'),
          initDataDigest: Buffer.from(f.init_data, 'hex'),
        },
        { now: FILES[name].at },
      );
      expect(claims).toMatchObject({ ...facts, signing_key });
      expect(claims['policy_abi_major']).toBe((policy >> 8) & 0xff);
      expect(claims['policy_abi_minor']).toBe(policy & 0xff);
      expect(claims['policy_smt_allowed']).toBe(((policy >> 16) & 1) === 1);
      expect(claims['policy_debug_allowed']).toBe(((policy >> 19) & 1) === 1);
      expect(claims['policy_migrate_ma']).toBe(((policy >> 18) & 1) === 1);
      expect(claims['policy_single_socket']).toBe(((policy >> 20) & 1) === 1);
    },
  );

  test('the trustee e2e evidence JSON (sev crate serde shape) verifies with the Genoa chain', async () => {
    const ev = JSON.parse(
      readFileSync(join(EVIDENCE, 'sample', 'trustee_e2e_snp_evidence.json'), 'utf8'),
    );
    const claims = await verifier.verify(ev, {
      reportData: Buffer.from(SNP_FACTS.trustee_e2e_genoa_v3.report_data, 'hex'),
    });
    expect(claims).toMatchObject({
      measurement: SNP_FACTS.trustee_e2e_genoa_v3.measurement,
      product: 'Genoa',
      reported_tcb_bootloader: 10,
      reported_tcb_snp: 23,
      reported_tcb_microcode: 25,
    });
    expect(
      Buffer.from(snpReportFromSevJson(ev.attestation_report)).equals(
        Buffer.from(reportOf('trustee_e2e_genoa_v3')),
      ),
    ).toBe(true);
  });

  test('the expired AWS VLEK is refused today', async () => {
    await expect(
      verifier.verify(
        rawEvidence('trustee_milan_vlek_v3'),
        {},
        { now: new Date('2026-11-22T00:00:00Z') },
      ),
    ).rejects.toMatchObject({ code: 'ERR_SNP_VCEK_CHAIN', kind: 'permission_denied' });
  });

  test('the VLEK report uses the reported TCB, not the current TCB', () => {
    const r = parseSnpReport(reportOf('trustee_milan_vlek_v3'));
    expect(r.currentTcb.microcode).toBe(220);
    expect(r.reportedTcb.microcode).toBe(217);
    expect(r.signingKey).toBe('vlek');
    expect(r.cpuid).toEqual({ family: 0x19, model: 0x1, stepping: 0x1 });
  });

  test.each([
    ['measurement_bit_flipped', 'ERR_SNP_SIGNATURE'],
    ['report_data_bit_flipped', 'ERR_SNP_SIGNATURE'],
    ['signature_r_bit_flipped', 'ERR_SNP_SIGNATURE'],
    ['truncated_1000', 'ERR_SNP_REPORT_MALFORMED'],
  ])('the tampered report %s is rejected with %s', async (name, code) => {
    const ev = rawEvidence('gosev_milan_v2', bytes(snp('negative', `gosev_milan_v2__${name}.bin`)));
    await expect(verifier.verify(ev, {})).rejects.toMatchObject({ code, name: 'VerifierError' });
  });

  test.each([
    'gosev_milan_vcek__signature_corrupted.der',
    'trustee_test-vcek-invalid-legacy.der',
    'trustee_test-vcek-invalid-new.der',
  ])('the endorsement key %s fails the VCEK chain check', async (file) => {
    const ev = rawEvidence('gosev_milan_v2', reportOf('gosev_milan_v2'), snp('negative', file));
    await expect(verifier.verify(ev, {})).rejects.toMatchObject({ code: 'ERR_SNP_VCEK_CHAIN' });
  });

  test.each(['trustee_test-vcek-invalid-legacy.der', 'trustee_test-vcek-invalid-new.der'])(
    'both hwID encodings of %s parse',
    (file) => {
      const ext = parseVekExtensions(bytes(snp('negative', file)));
      expect(Buffer.from(ext.hwId!).toString('hex')).toBe(
        Buffer.from(Array.from({ length: 64 }, (_, i) => i)).toString('hex'),
      );
      expect(ext.product).toBe('milan');
    },
  );

  test('a VCEK with other TCB values fails the TCB check', async () => {
    const ev = rawEvidence(
      'gosev_milan_v2',
      reportOf('gosev_milan_v2'),
      snp('trustee_milan_v2', 'vcek.der'),
    );
    await expect(verifier.verify(ev, {})).rejects.toMatchObject({ code: 'ERR_SNP_TCB_MISMATCH' });
  });

  test('a VCEK of another chip with the same TCB fails the chip id check', async () => {
    const ev = rawEvidence(
      'trustee_milan_v2',
      reportOf('trustee_milan_v2'),
      snp('virtee_milan_v2', 'vcek.der'),
    );
    await expect(verifier.verify(ev, {})).rejects.toMatchObject({
      code: 'ERR_SNP_CHIP_ID_MISMATCH',
    });
  });

  test('report data and host data bindings are checked', async () => {
    await expect(
      verifier.verify(rawEvidence('gosev_milan_v2'), { reportData: new Uint8Array(64) }),
    ).rejects.toMatchObject({ code: 'ERR_REPORT_DATA_MISMATCH' });
    await expect(
      verifier.verify(rawEvidence('gosev_milan_v2'), {
        initDataDigest: new Uint8Array(48).fill(9),
      }),
    ).rejects.toMatchObject({ code: 'ERR_INIT_DATA_MISMATCH' });
  });

  test('evidence without an endorsement key certificate is refused', async () => {
    await expect(verifier.verify({ report: reportOf('gosev_milan_v2') }, {})).rejects.toMatchObject(
      { code: 'ERR_SNP_VCEK_MISSING' },
    );
  });

  test('the Turin VCEK chains to the shipped Turin ARK and carries the Turin extension set', () => {
    const vek = new X509Certificate(readFileSync(snp('virtee_turin_vcek_only', 'vcek.der')));
    const chains = loadAmdChains([
      readFileSync(snp('virtee_turin_vcek_only', 'cert_chain_turin.pem'), 'utf8'),
    ]);
    expect(() => verifyVekChain(vek, chains, new Date('2026-11-22T00:00:00Z'))).not.toThrow();
    const ext = parseVekExtensions(new Uint8Array(vek.raw));
    expect(ext).toMatchObject({
      product: 'turin',
      productName: 'Turin',
      structVersion: 1,
      fmcSpl: 0,
      blSpl: 0,
      teeSpl: 0,
      snpSpl: 0,
      ucodeSpl: 9,
    });
    expect(Buffer.from(ext.hwId!).toString('hex')).toBe('1e550a8ee5cf9f4d');
  });

  test('a VCEK is refused against another product line chain', () => {
    const vek = new X509Certificate(readFileSync(snp('gosev_milan_v2', 'vcek.der')));
    const chains = loadAmdChains([readFileSync(snp('ark_ask', 'ask_ark_genoa.pem'), 'utf8')]);
    expect(() => verifyVekChain(vek, chains, new Date())).toThrow(
      expect.objectContaining({ code: 'ERR_SNP_VCEK_CHAIN' }),
    );
  });

  test('every truncation of a genuine report fails with a VerifierError, never a crash', async () => {
    const raw = reportOf('gosev_milan_v2');
    for (let cut = 0; cut < raw.byteLength; cut += 1) {
      const ev = rawEvidence('gosev_milan_v2', raw.subarray(0, cut));
      const err: unknown = await verifier.verify(ev, {}).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `cut at ${cut}`).toMatchObject({
        name: 'VerifierError',
        code: 'ERR_SNP_REPORT_MALFORMED',
      });
    }
  });
});
