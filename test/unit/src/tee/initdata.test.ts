import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import {
  TeeError,
  decodeInitDataAnnotation,
  decodeInitDataDisk,
  encodeInitDataAnnotation,
  encodeInitDataDisk,
  parseInitData,
  snpHostData,
  tdxMrConfigId,
} from '#src/tee/index.js';

const TOML = `version = "0.1.0"
algorithm = "sha384"

[data]
"aa.toml" = '''
[token_configs]
'''
"policy.rego" = "package agent_policy"
`;

describe('parseInitData', () => {
  test('digest is HASH over the exact TOML bytes', () => {
    const bytes = new TextEncoder().encode(TOML);
    const d = parseInitData(bytes);
    expect(d.algorithm).toBe('sha384');
    expect(Buffer.from(d.digest).equals(createHash('sha384').update(bytes).digest())).toBe(true);
    expect(d.data['policy.rego']).toBe('package agent_policy');
    expect(Object.keys(d.data)).toEqual(['aa.toml', 'policy.rego']);
  });

  test('a whitespace change changes the digest (no re-serialisation)', () => {
    expect(parseInitData(TOML).digest).not.toEqual(parseInitData(TOML + '\n').digest);
  });

  test.each(['sha256', 'sha512'])('accepts algorithm %s', (alg) => {
    const d = parseInitData(TOML.replace('sha384', alg));
    expect(d.digest.byteLength).toBe(alg === 'sha256' ? 32 : 64);
  });

  test.each(['sha1', 'SHA256', 'md5', ''])('rejects algorithm %j with a clear error', (alg) => {
    expect(() => parseInitData(TOML.replace('sha384', alg))).toThrow(
      expect.objectContaining({
        code: 'ERR_INITDATA_ALGORITHM',
        message: expect.stringMatching(/sha256, sha384, sha512/),
      }),
    );
  });

  test.each([
    [TOML.replace('0.1.0', '0.2.0'), /initdata\.version/],
    ['extra = 1\n' + TOML, /initdata\.extra: unknown key/],
    [TOML.replace('"package agent_policy"', '3'), /initdata\.data\."policy\.rego"/],
    ['version = ', /not valid UTF-8 TOML/],
  ])('rejects invalid documents (%#)', (doc, re) => {
    expect(() => parseInitData(doc)).toThrow(re);
    expect(() => parseInitData(doc)).toThrow(TeeError);
  });

  test('rejects bytes that are not UTF-8', () => {
    expect(() => parseInitData(Uint8Array.from([0xff, 0xfe]))).toThrow(/UTF-8/);
  });
});

describe('initdata encodings', () => {
  const bytes = new TextEncoder().encode(TOML);
  test('TDX MRCONFIGID is the digest zero-padded to 48 bytes, SNP HOST_DATA truncated to 32', () => {
    const d256 = parseInitData(TOML.replace('sha384', 'sha256')).digest;
    const mr = tdxMrConfigId(d256);
    expect(mr.byteLength).toBe(48);
    expect(mr.subarray(0, 32)).toEqual(d256);
    expect(mr.subarray(32)).toEqual(new Uint8Array(16));
    const d384 = parseInitData(TOML).digest;
    expect(tdxMrConfigId(d384)).toEqual(d384);
    expect(snpHostData(d384)).toEqual(d384.subarray(0, 32));
  });

  test('the annotation is base64(gzip(TOML)) and round-trips', () => {
    const a = encodeInitDataAnnotation(bytes);
    expect(decodeInitDataAnnotation(a)).toEqual(bytes);
    expect(decodeInitDataAnnotation(Buffer.from(gzipSync(bytes)).toString('base64'))).toEqual(
      bytes,
    );
    expect(() => decodeInitDataAnnotation('not*base64')).toThrow(/base64/);
    expect(() => decodeInitDataAnnotation(Buffer.from('plain').toString('base64'))).toThrow(/gzip/);
  });

  test('the disk is "initdata", u64 LE length, gzip blob, zero padding to 512', () => {
    const disk = encodeInitDataDisk(bytes);
    expect(disk.byteLength % 512).toBe(0);
    expect(Buffer.from(disk.subarray(0, 8)).toString()).toBe('initdata');
    const len = Number(Buffer.from(disk).readBigUInt64LE(8));
    expect(Buffer.from(disk.subarray(16, 16 + len)).subarray(0, 2)).toEqual(
      Buffer.from([0x1f, 0x8b]),
    );
    expect(disk.subarray(16 + len).every((b) => b === 0)).toBe(true);
    expect(decodeInitDataDisk(disk)).toEqual(bytes);
  });

  test('a damaged disk is rejected with the offset', () => {
    const disk = encodeInitDataDisk(bytes).slice();
    expect(() => decodeInitDataDisk(disk.subarray(0, 10))).toThrow(/header needs 16/);
    disk[0] = 0x49;
    expect(() => decodeInitDataDisk(disk)).toThrow(/magic at offset 0/);
    const d2 = encodeInitDataDisk(bytes).slice();
    new DataView(d2.buffer).setBigUint64(8, 1n << 40n, true);
    expect(() => decodeInitDataDisk(d2)).toThrow(/length at offset 8/);
  });
});
