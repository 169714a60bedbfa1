import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import {
  encryptLayerBytes,
  LayerDecipher,
  layerCipherParams,
  parsePrivateOptions,
  parsePublicOptions,
} from '#src/oci/index.js';

async function decrypt(
  ciphertext: Buffer,
  params: ConstructorParameters<typeof LayerDecipher>[0],
  chunk = 7,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < ciphertext.length; i += chunk) parts.push(ciphertext.subarray(i, i + chunk));
  const out: Buffer[] = [];
  for await (const c of Readable.from(parts).pipe(new LayerDecipher(params, 'sha256:l')))
    out.push(c as Buffer);
  return Buffer.concat(out);
}

describe('LayerDecipher (AES_256_CTR_HMAC_SHA256)', () => {
  const key = randomBytes(32);
  const nonce = randomBytes(16);
  const plain = randomBytes(10_000);
  const { ciphertext, hmac } = encryptLayerBytes(plain, key, nonce);

  test.each([1, 7, 16, 4096, 20_000])(
    'decrypts the same plaintext whatever the chunking (%i)',
    async (chunk) => {
      expect(
        (await decrypt(ciphertext, { key, nonce, hmac, plainDigest: undefined }, chunk)).equals(
          plain,
        ),
      ).toBe(true);
    },
  );

  test('fails at the end with an HMAC mismatch when one ciphertext byte flipped', async () => {
    const bad = Buffer.from(ciphertext);
    bad[5000] = (bad[5000] ?? 0) ^ 1;
    await expect(decrypt(bad, { key, nonce, hmac, plainDigest: undefined })).rejects.toMatchObject({
      code: 'ERR_OCI_DECRYPT',
      message: expect.stringMatching(
        /^Failed to decrypt the image layer sha256:l: HMAC mismatch/,
      ) as string,
    });
  });

  test('fails with a wrong key', async () => {
    await expect(
      decrypt(ciphertext, { key: randomBytes(32), nonce, hmac, plainDigest: undefined }),
    ).rejects.toMatchObject({ code: 'ERR_OCI_DECRYPT' });
  });
});

describe('ocicrypt options', () => {
  const symkey = Buffer.alloc(32, 1);
  const nonce = Buffer.alloc(16, 2);
  const hmac = Buffer.alloc(32, 3);
  const pub = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64');

  test('reads Go-style base64 and Rust-style integer arrays alike', () => {
    const a = parsePrivateOptions(
      Buffer.from(
        JSON.stringify({
          symkey: symkey.toString('base64'),
          cipheroptions: { nonce: nonce.toString('base64') },
          digest: 'sha256:x',
        }),
      ),
      'l',
    );
    const b = parsePrivateOptions(
      Buffer.from(JSON.stringify({ symkey: [...symkey], cipheroptions: { nonce: [...nonce] } })),
      'l',
    );
    expect(Buffer.from(a.symkey)).toEqual(Buffer.from(b.symkey));
    expect(a.digest).toBe('sha256:x');
    expect(b.digest).toBeUndefined();
  });

  test('takes the HMAC from pubopts.hmac or pubopts.cipheroptions.hmac', () => {
    const priv = parsePrivateOptions(
      Buffer.from(JSON.stringify({ symkey: [...symkey], cipheroptions: { nonce: [...nonce] } })),
      'l',
    );
    for (const p of [
      { cipher: 'AES_256_CTR_HMAC_SHA256', hmac: hmac.toString('base64'), cipheroptions: {} },
      {
        cipher: 'AES_256_CTR_HMAC_SHA256',
        hmac: null,
        cipheroptions: { hmac: hmac.toString('base64') },
      },
    ]) {
      expect(
        Buffer.from(layerCipherParams(priv, parsePublicOptions(pub(p), 'l'), 'l').hmac),
      ).toEqual(hmac);
    }
  });

  test.each([
    [
      { symkey: [1, 2, 3], cipheroptions: { nonce: [...Buffer.alloc(16)] } },
      { cipher: 'AES_256_CTR_HMAC_SHA256', hmac: hmac.toString('base64') },
      /not 32/,
    ],
    [
      { symkey: [...symkey], cipheroptions: {} },
      { cipher: 'AES_256_CTR_HMAC_SHA256', hmac: hmac.toString('base64') },
      /nonce/,
    ],
    [
      { symkey: [...symkey], cipheroptions: { nonce: [...nonce] } },
      { cipher: 'AES_256_CTR_HMAC_SHA256' },
      /HMAC/,
    ],
    [
      { symkey: [...symkey], cipheroptions: { nonce: [...nonce] } },
      { cipher: 'AES_128_GCM', hmac: hmac.toString('base64') },
      /unsupported layer cipher/,
    ],
  ])('refuses incomplete or unsupported options (%#)', (privRaw, pubRaw, why) => {
    const priv = parsePrivateOptions(Buffer.from(JSON.stringify(privRaw)), 'l');
    expect(() => layerCipherParams(priv, parsePublicOptions(pub(pubRaw), 'l'), 'l')).toThrow(why);
  });

  test.each(['not json', '{"symkey":5}', '{"symkey":[256]}', '[]'])(
    'refuses malformed private options %j',
    (raw) => {
      expect(() => parsePrivateOptions(Buffer.from(raw), 'sha256:l')).toThrow(
        /^Failed to decrypt the image layer sha256:l: unwrapped options are malformed/,
      );
    },
  );
});
