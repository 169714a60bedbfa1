import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  checkKbsKeyId,
  encodeAnnotationPacket,
  openAes256Gcm,
  parseAnnotationPacket,
  sealAes256Gcm,
  unwrapWithKek,
  wrapWithKek,
} from '#src/oci/index.js';

const KID = 'kbs:///default/image-kek/1';
const opts = new Uint8Array(Buffer.from('{"symkey":"…","cipheroptions":{"nonce":"…"}}'));

describe('KBS annotation packet', () => {
  test('wrap → encode → parse → unwrap gives the private options back', () => {
    const kek = randomBytes(32);
    const packet = parseAnnotationPacket(encodeAnnotationPacket(wrapWithKek(kek, KID, opts)));
    expect(packet).toMatchObject({ kid: KID, wrapType: 'A256GCM' });
    expect(packet.iv).toHaveLength(12);
    expect(packet.wrappedData).toHaveLength(opts.length + 16);
    expect(Buffer.from(unwrapWithKek(kek, packet))).toEqual(Buffer.from(opts));
  });

  test('the JSON has guest-components field names and order, base64 byte fields', () => {
    const json = JSON.parse(
      Buffer.from(encodeAnnotationPacket(wrapWithKek(randomBytes(32), KID, opts))).toString(),
    ) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['kid', 'wrapped_data', 'iv', 'wrap_type']);
    expect(json['iv']).toMatch(/^[A-Za-z0-9+/]{16}$/);
  });

  test('a wrong key-encryption key is permission_denied ERR_OCI_DECRYPT naming the key', () => {
    const packet = wrapWithKek(randomBytes(32), KID, opts);
    expect(() => unwrapWithKek(randomBytes(32), packet)).toThrow(
      expect.objectContaining({
        code: 'ERR_OCI_DECRYPT',
        kind: 'permission_denied',
        message: `keyprovider key ${KID}: decryption failed`,
      }),
    );
  });

  test('flipping any byte of the wrapped data or iv fails the tag check', () => {
    const kek = randomBytes(32);
    const p = wrapWithKek(kek, KID, opts);
    for (let i = 0; i < p.wrappedData.length; i++) {
      const w = new Uint8Array(p.wrappedData);
      w[i] = (w[i] ?? 0) ^ 1;
      expect(() => unwrapWithKek(kek, { ...p, wrappedData: w }), `byte ${String(i)}`).toThrow(
        expect.objectContaining({ kind: 'permission_denied' }),
      );
    }
    const iv = new Uint8Array(p.iv);
    iv[0] = (iv[0] ?? 0) ^ 1;
    expect(() => unwrapWithKek(kek, { ...p, iv })).toThrow(
      expect.objectContaining({ kind: 'permission_denied' }),
    );
  });

  test.each([
    ['not JSON', 'nope', /not an annotation packet/],
    ['an array', '[]', /must be a JSON object/],
    ['no kid', '{"wrapped_data":"AA==","iv":"AA=="}', /"kid"/],
    ['a numeric kid', '{"kid":1,"wrapped_data":"AA==","iv":"AA=="}', /"kid"/],
    ['no iv', `{"kid":"${KID}","wrapped_data":"AA=="}`, /"iv"/],
    ['bad base64', `{"kid":"${KID}","wrapped_data":"!!","iv":"AA=="}`, /"wrapped_data"/],
    ['bytes out of range', `{"kid":"${KID}","wrapped_data":[1,256],"iv":"AA=="}`, /"wrapped_data"/],
    [
      'a numeric wrap_type',
      `{"kid":"${KID}","wrapped_data":"AA==","iv":"AA==","wrap_type":5}`,
      /wrap_type/,
    ],
  ])('refuses a packet with %s', (_w, raw, why) => {
    expect(() => parseAnnotationPacket(Buffer.from(raw))).toThrow(
      expect.objectContaining({ code: 'ERR_OCI_KEYPROVIDER', message: expect.stringMatching(why) }),
    );
  });

  test('refuses an oversized packet before parsing it', () => {
    expect(() => parseAnnotationPacket(new Uint8Array(65 * 1024))).toThrow(/more than 65536/);
  });

  test('integer-array byte fields (Rust serde) are accepted; wrap_type defaults to A256GCM', () => {
    const p = parseAnnotationPacket(
      Buffer.from(JSON.stringify({ kid: KID, wrapped_data: [1, 2], iv: [3] })),
    );
    expect(p).toMatchObject({ wrapType: 'A256GCM' });
    expect([...p.wrappedData]).toEqual([1, 2]);
  });

  test('an unknown wrap type is unimplemented', () => {
    const p = { ...wrapWithKek(randomBytes(32), KID, opts), wrapType: 'A256CTR' };
    expect(() => unwrapWithKek(randomBytes(32), p)).toThrow(
      expect.objectContaining({ kind: 'unimplemented', message: expect.stringMatching(/A256CTR/) }),
    );
  });

  test.each([
    [KID, true],
    ['kbs://kbs.example:8080/default/key/1', true],
    ['kbs:///default/key', false],
    ['kbs:///default/key/1/2', false],
    ['kbs:///default/../1', false],
    ['kbs:///default/key/a b', false],
    ['/default/key/1', false],
    ['default/key/1', false],
    ['', false],
  ])('key id %j valid: %s', (kid, ok) => {
    if (ok) expect(checkKbsKeyId(kid)).toBe(kid);
    else
      expect(() => checkKbsKeyId(kid)).toThrow(
        expect.objectContaining({ code: 'ERR_OCI_KEYPROVIDER' }),
      );
  });

  test('sealing needs a 32-byte key; opening checks key, iv and tag sizes', () => {
    expect(() => sealAes256Gcm(randomBytes(16), opts)).toThrow(/32-byte key/);
    const { iv, sealed } = sealAes256Gcm(randomBytes(32), opts);
    expect(() => openAes256Gcm(randomBytes(31), iv, sealed, 'x')).toThrow(/x: the key is 31 bytes/);
    expect(() => openAes256Gcm(randomBytes(32), iv.subarray(1), sealed, 'x')).toThrow(/12-byte iv/);
    expect(() => openAes256Gcm(randomBytes(32), iv, sealed.subarray(0, 15), 'x')).toThrow(
      expect.objectContaining({ kind: 'invalid_argument' }),
    );
  });
});
