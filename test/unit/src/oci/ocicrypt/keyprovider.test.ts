import { describe, expect, test } from 'vitest';
import {
  encodeKeyUnwrapRequest,
  encodeKeyUnwrapResponse,
  parseKeyUnwrapRequest,
  parseKeyUnwrapResponse,
} from '#src/oci/index.js';

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
