import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  canonicalJson,
  computeReportData,
  parseAttestation,
  parseKbsRequest,
  parseResourcePath,
} from '#src/protocol/kbs/index.js';

const key = { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: 'eA', y: 'eQ' } as const;

describe('parseKbsRequest', () => {
  test('accepts a 0.4.0 request', () => {
    expect(parseKbsRequest({ version: '0.4.0', tee: 'snp', 'extra-params': '' })).toEqual({
      version: '0.4.0',
      tee: 'snp',
      extraParams: '',
    });
  });
  test.each([
    [
      { version: '0.3.0', tee: 'tdx', 'extra-params': '' },
      'ERR_KBS_PROTOCOL_VERSION',
      /0\.3\.0.*0\.4\.0/,
    ],
    [{ version: '0.4.0', tee: 'tdx' }, 'ERR_KBS_MALFORMED', /extra-params: missing/],
    [{ version: '0.4.0', tee: 'pdp11', 'extra-params': '' }, 'ERR_KBS_MALFORMED', /unknown TEE/],
    [
      { version: '0.4.0', tee: 'tdx', 'extra-params': '', x: 1 },
      'ERR_KBS_MALFORMED',
      /request\.x: unknown member/,
    ],
    [[], 'ERR_KBS_MALFORMED', /expected a JSON object/],
  ])('rejects %j with %s', (raw, code, message) => {
    expect(() => parseKbsRequest(raw)).toThrow(
      expect.objectContaining({ code, message: expect.stringMatching(message) }),
    );
  });
});

describe('parseAttestation', () => {
  test('unwraps composite evidence and keeps init-data', () => {
    const a = parseAttestation({
      'init-data': { format: 'toml', body: 'version = "0.1.0"' },
      'runtime-data': { nonce: 'n', 'tee-pubkey': key },
      'tee-evidence': { primary_evidence: { svn: '1' }, additional_evidence: '{}' },
    });
    expect(a.teeEvidence).toEqual({ svn: '1' });
    expect(a.additionalEvidence).toBe('{}');
    expect(a.initData?.format).toBe('toml');
  });
  test.each([
    [{ 'tee-evidence': {} }, /runtime-data: missing/],
    [{ 'runtime-data': { nonce: 'n', 'tee-pubkey': key } }, /tee-evidence: missing/],
    [
      { 'runtime-data': { nonce: 'n', 'tee-pubkey': { ...key, d: 'x' } }, 'tee-evidence': {} },
      /tee-pubkey\.d: unknown member/,
    ],
    [
      { 'runtime-data': { nonce: 'n', 'tee-pubkey': { ...key, x: 'a+b' } }, 'tee-evidence': {} },
      /x: expected base64url/,
    ],
    [
      { 'runtime-data': { nonce: 1, 'tee-pubkey': key }, 'tee-evidence': {} },
      /nonce: expected a string/,
    ],
    [
      {
        'runtime-data': { nonce: 'n', 'tee-pubkey': key },
        'tee-evidence': {},
        'init-data': { format: 'yaml', body: '' },
      },
      /format/,
    ],
  ])('rejects a malformed attestation (%#)', (raw, message) => {
    expect(() => parseAttestation(raw)).toThrow(message);
  });
});

describe('computeReportData', () => {
  test('is SHA-384 of the canonical runtime-data, zero-padded to 64 bytes', () => {
    const rd = computeReportData({ nonce: 'abc', teePubkey: key }, 'tdx');
    const want = createHash('sha384')
      .update(
        '{"nonce":"abc","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"eA","y":"eQ"}}',
      )
      .digest();
    expect(canonicalJson({ nonce: 'abc', 'tee-pubkey': key })).toContain(
      '"alg":"ECDH-ES+A256KW","crv"',
    );
    expect(Buffer.from(rd.subarray(0, 48))).toEqual(want);
    expect([...rd.subarray(48)]).toEqual(new Array(16).fill(0));
  });
});

describe('parseResourcePath', () => {
  test.each(['a/b', 'a/b/c/d', 'a/../c', 'a//c', 'a/b/c%2f', 'a/b/ c'])('rejects %j', (p) => {
    expect(() => parseResourcePath(p)).toThrow(/expected <repository>\/<type>\/<tag>/);
  });
  test('splits a valid path', () => {
    expect(parseResourcePath('default/key/1')).toEqual({
      repository: 'default',
      type: 'key',
      tag: '1',
    });
  });
});
