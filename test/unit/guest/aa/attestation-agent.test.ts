import { describe, expect, test } from 'vitest';
import { AttestationAgent, initDataFieldOf, parseAaConfig } from '#guest/aa/index.js';
import { createSampleAttester } from '#guest/attester/index.js';

describe('AttestationAgent', () => {
  test('binds initdata only when the digest equals the report field', async () => {
    const aa = new AttestationAgent({
      attester: createSampleAttester({ initDataDigest: new Uint8Array([1, 2]) }),
    });
    await aa.bindInitData(new Uint8Array([1, 2]));
    await expect(aa.bindInitData(new Uint8Array([1, 3]))).rejects.toMatchObject({
      code: 'ERR_AA_INITDATA_MISMATCH',
      kind: 'permission_denied',
    });
  });

  test('hashes runtime data longer than 64 bytes into report_data', async () => {
    const aa = new AttestationAgent({ attester: createSampleAttester() });
    const ev = JSON.parse(Buffer.from(await aa.getEvidence(new Uint8Array(100))).toString()) as {
      report_data: string;
    };
    expect(Buffer.from(ev.report_data, 'base64').subarray(48)).toEqual(Buffer.alloc(16));
    expect(
      Buffer.from(ev.report_data, 'base64')
        .subarray(0, 48)
        .some((b) => b !== 0),
    ).toBe(true);
  });

  test('refuses a token without a configured KBS', async () => {
    await expect(
      new AttestationAgent({ attester: createSampleAttester() }).getToken('kbs'),
    ).rejects.toMatchObject({ code: 'ERR_AA_NO_KBS' });
  });

  test('fits the digest to the TEE field', () => {
    const d = new Uint8Array(64).fill(1);
    expect(initDataFieldOf('tdx', d)).toHaveLength(48);
    expect(initDataFieldOf('snp', d)).toHaveLength(32);
    expect(initDataFieldOf('tdx', new Uint8Array(32).fill(1)).subarray(32)).toEqual(
      new Uint8Array(16),
    );
  });
});

describe('parseAaConfig', () => {
  test('reads token_configs.kbs and rejects unknown keys', () => {
    expect(parseAaConfig('[token_configs.kbs]\nurl = "http://kbs"\n')).toEqual({
      kbsUrl: 'http://kbs',
      kbsCert: undefined,
      eventlog: { enabled: false, initPcr: 17 },
    });
    expect(() => parseAaConfig('[token_configs.kbs]\nuri = "x"\n')).toThrow(
      expect.objectContaining({ code: 'ERR_AA_CONFIG' }),
    );
  });
});
