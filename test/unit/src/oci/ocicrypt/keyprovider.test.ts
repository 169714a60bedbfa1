import { describe, expect, test } from 'vitest';
import {
  encodeKeyUnwrapRequest,
  encodeKeyUnwrapResponse,
  encodeKeyWrapRequest,
  encodeKeyWrapResponse,
  parseKeyProviderRequest,
  parseKeyUnwrapRequest,
  parseKeyUnwrapResponse,
  parseKeyWrapResponse,
} from '#src/oci/index.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('keyprovider requests as ocicrypt (Go encoding/json) writes them', () => {
  // KeyProviderKeyWrapProtocolInput marshalled by ocicrypt 1.1 for
  // `--encryption-key provider:kata-cc:keypath=/k::keyid=kbs:///a/b/c` (EncryptWithKeyProvider)
  const wrap = JSON.stringify({
    op: 'keywrap',
    keywrapparams: {
      ec: {
        Parameters: { 'kata-cc': [b64('keypath=/k::keyid=kbs:///a/b/c')] },
        DecryptConfig: { Parameters: null },
      },
      optsdata: b64('{"symkey":"x"}'),
    },
    keyunwrapparams: { dc: null, annotation: null },
  });
  const unwrap = JSON.stringify({
    op: 'keyunwrap',
    keywrapparams: { ec: null, optsdata: null },
    keyunwrapparams: {
      dc: { Parameters: { 'kata-cc': [b64('keypath=/k'), b64('Enabled')], other: null } },
      annotation: b64('{"kid":"kbs:///a/b/c"}'),
    },
  });

  test('keywrap: op, optsdata and the provider parameters', () => {
    const r = parseKeyProviderRequest(wrap);
    expect(r.op).toBe('keywrap');
    if (r.op !== 'keywrap') return;
    expect(Buffer.from(r.optsData).toString()).toBe('{"symkey":"x"}');
    expect(Object.keys(r.parameters)).toEqual(['kata-cc']);
    expect(r.parameters['kata-cc']?.map((b) => Buffer.from(b).toString())).toEqual([
      'keypath=/k::keyid=kbs:///a/b/c',
    ]);
  });

  test('keyunwrap: annotation and every parameter set; null lists are dropped', () => {
    const r = parseKeyProviderRequest(unwrap);
    expect(r.op).toBe('keyunwrap');
    if (r.op !== 'keyunwrap') return;
    expect(Buffer.from(r.annotation).toString()).toBe('{"kid":"kbs:///a/b/c"}');
    expect(Object.keys(r.parameters)).toEqual(['kata-cc']);
    expect(r.parameters['kata-cc']?.map((b) => Buffer.from(b).toString())).toEqual([
      'keypath=/k',
      'Enabled',
    ]);
  });

  test('our encoders write the same shapes, and they round-trip', () => {
    const params = { 'kata-cc': [Buffer.from('keypath=/k::keyid=kbs:///a/b/c')] };
    expect(encodeKeyWrapRequest(Buffer.from('{"symkey":"x"}'), params)).toBe(wrap);
    const r = parseKeyProviderRequest(encodeKeyUnwrapRequest(Buffer.from('a'), params));
    expect(r).toMatchObject({ op: 'keyunwrap' });
    expect(
      Buffer.from(parseKeyWrapResponse(encodeKeyWrapResponse(Buffer.from('p')))).toString(),
    ).toBe('p');
  });

  test.each([
    ['an unknown op', '{"op":"wrap"}', /op must be "keywrap" or "keyunwrap", got "wrap"/],
    ['no op', '{}', /got null/],
    [
      'keywrap without optsdata',
      '{"op":"keywrap","keywrapparams":{"ec":null}}',
      /optsdata is missing/,
    ],
    [
      'empty optsdata',
      '{"op":"keywrap","keywrapparams":{"optsdata":""}}',
      /optsdata is missing or empty/,
    ],
    [
      'Parameters not an object',
      '{"op":"keywrap","keywrapparams":{"optsdata":"AA==","ec":{"Parameters":[]}}}',
      /Parameters must be an object/,
    ],
    [
      'a parameter list not an array',
      '{"op":"keywrap","keywrapparams":{"optsdata":"AA==","ec":{"Parameters":{"a":"x"}}}}',
      /Parameters.a must be an array/,
    ],
    [
      'a parameter not base64',
      '{"op":"keywrap","keywrapparams":{"optsdata":"AA==","ec":{"Parameters":{"a":["!"]}}}}',
      /not base64/,
    ],
    [
      'a null parameter',
      '{"op":"keywrap","keywrapparams":{"optsdata":"AA==","ec":{"Parameters":{"a":[null]}}}}',
      /is null/,
    ],
    [
      'keyunwrap without annotation',
      '{"op":"keyunwrap","keyunwrapparams":{"dc":null}}',
      /annotation is missing/,
    ],
    ['a huge request', `{"op":"keywrap","pad":"${'x'.repeat(1 << 20)}"}`, /larger than/],
  ])('refuses %s', (_w, raw, why) => {
    expect(() => parseKeyProviderRequest(raw)).toThrow(
      expect.objectContaining({ code: 'ERR_OCI_KEYPROVIDER', message: expect.stringMatching(why) }),
    );
  });

  test('a keywrap response without an annotation is refused', () => {
    expect(() => parseKeyWrapResponse('{"keywrapresults":{"annotation":null}}')).toThrow(
      expect.objectContaining({ code: 'ERR_OCI_KEYPROVIDER' }),
    );
  });
});

describe('keyprovider protocol JSON', () => {
  const bytes = Buffer.from('{"kid":"kbs:///default/key/1","wrapped_data":"…"}');

  test('a request round-trips', () => {
    expect(Buffer.from(parseKeyUnwrapRequest(encodeKeyUnwrapRequest(bytes)).annotation)).toEqual(
      bytes,
    );
  });

  test('a response round-trips', () => {
    expect(Buffer.from(parseKeyUnwrapResponse(encodeKeyUnwrapResponse(bytes)))).toEqual(bytes);
  });

  test('byte fields may be integer arrays (Rust serde) as well as base64 (Go)', () => {
    expect(
      Buffer.from(
        parseKeyUnwrapResponse(JSON.stringify({ keyunwrapresults: { optsdata: [...bytes] } })),
      ),
    ).toEqual(bytes);
    expect(
      Buffer.from(
        parseKeyUnwrapRequest(
          JSON.stringify({ op: 'keyunwrap', keyunwrapparams: { annotation: [...bytes] } }),
        ).annotation,
      ),
    ).toEqual(bytes);
  });

  test.each([
    'nope',
    '{}',
    '{"keyunwrapresults":{}}',
    '{"keyunwrapresults":{"optsdata":[1,300]}}',
    '{"keyunwrapresults":{"optsdata":"!!"}}',
    '{"keyunwrapresults":{"optsdata":""}}',
  ])('refuses a malformed response %j', (raw) => {
    expect(() => parseKeyUnwrapResponse(raw)).toThrow(
      expect.objectContaining({ code: 'ERR_OCI_KEYPROVIDER' }),
    );
  });

  test.each(['{"op":"keywrap"}', '{"op":"keyunwrap"}', '{"op":"keyunwrap","keyunwrapparams":{}}'])(
    'refuses a malformed request %j',
    (raw) => {
      expect(() => parseKeyUnwrapRequest(raw)).toThrow(
        expect.objectContaining({ code: 'ERR_OCI_KEYPROVIDER' }),
      );
    },
  );
});
