import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, test } from 'vitest';
import {
  LayerDecipher,
  LayerEncipher,
  encodePrivateOptions,
  encodePublicOptions,
  encryptLayerBytes,
  layerCipherParams,
  newLayerKey,
  parsePrivateOptions,
  parsePublicOptions,
} from '#src/oci/index.js';

function chunks(b: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

describe('LayerEncipher', () => {
  test.each([1, 7, 4096, 1 << 20])(
    'streams ocicrypt AES-256-CTR + HMAC, whatever the chunking (%i)',
    async (size) => {
      const plain = randomBytes(70_001);
      const { key, nonce } = newLayerKey();
      const enc = new LayerEncipher(key, nonce);
      const ciphertext = await buffer(Readable.from(chunks(plain, size)).pipe(enc));
      const expected = encryptLayerBytes(plain, key, nonce);
      expect(ciphertext.equals(expected.ciphertext)).toBe(true);
      expect(Buffer.from(enc.hmac()).equals(expected.hmac)).toBe(true);
    },
  );

  test('its options parse back into the parameters LayerDecipher needs', async () => {
    const plain = randomBytes(5000);
    const { key, nonce } = newLayerKey();
    const enc = new LayerEncipher(key, nonce);
    const ciphertext = await buffer(Readable.from([plain]).pipe(enc));
    const priv = parsePrivateOptions(
      encodePrivateOptions({ key, nonce, plainDigest: 'sha256:' + '0'.repeat(64) }),
      'l',
    );
    const pub = parsePublicOptions(encodePublicOptions(enc.hmac()), 'l');
    const params = layerCipherParams(priv, pub, 'l');
    expect(params.plainDigest).toBe('sha256:' + '0'.repeat(64));
    const back = await buffer(Readable.from([ciphertext]).pipe(new LayerDecipher(params, 'l')));
    expect(back.equals(plain)).toBe(true);
  });

  test('an empty layer still gets an HMAC; asking before the end throws', async () => {
    const { key, nonce } = newLayerKey();
    const enc = new LayerEncipher(key, nonce);
    expect(() => enc.hmac()).toThrow(/before the stream ended/);
    expect(await buffer(Readable.from([]).pipe(enc))).toHaveLength(0);
    expect(enc.hmac()).toHaveLength(32);
  });

  test('refuses wrong key or nonce sizes', () => {
    expect(() => new LayerEncipher(randomBytes(16), randomBytes(16))).toThrow(/32-byte key/);
    expect(() => new LayerEncipher(randomBytes(32), randomBytes(12))).toThrow(/16-byte nonce/);
  });
});
