import { describe, expect, test } from 'vitest';
import { encodeFrame, TTRPC_MAX_MESSAGE } from '#src/protocol/ttrpc/index.js';

describe('encodeFrame', () => {
  test('writes the big-endian length, stream id, type and flags before the data', () => {
    const out = encodeFrame({
      streamId: 0x01020304,
      type: 'data',
      flags: 5,
      payload: Buffer.from('hi'),
    });
    expect(out.toString('hex')).toBe('00000002' + '01020304' + '03' + '05' + '6869');
  });

  test.each([
    ['request', 1],
    ['response', 2],
    ['data', 3],
  ] as const)('encodes type %s as %i', (name, byte) => {
    expect(encodeFrame({ streamId: 1, type: name, flags: 0, payload: new Uint8Array() })[8]).toBe(
      byte,
    );
  });

  test('refuses a payload over the limit with resource_exhausted', () => {
    expect(() =>
      encodeFrame({
        streamId: 1,
        type: 'request',
        flags: 0,
        payload: new Uint8Array(TTRPC_MAX_MESSAGE + 1),
      }),
    ).toThrow(
      expect.objectContaining({ code: 'ERR_TTRPC_MESSAGE_TOO_LARGE', kind: 'resource_exhausted' }),
    );
  });

  test.each([
    [-1, 0],
    [2 ** 32, 0],
    [1.5, 0],
    [1, 256],
  ])('refuses stream id %d or flags %d out of range', (streamId, flags) => {
    expect(() =>
      encodeFrame({ streamId, type: 'request', flags, payload: new Uint8Array() }),
    ).toThrow(expect.objectContaining({ code: 'ERR_TTRPC_PROTOCOL' }));
  });
});
