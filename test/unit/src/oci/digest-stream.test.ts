import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, test } from 'vitest';
import {
  DigestVerifier,
  parseDigest,
  parseAuthChallenge,
  ZstdDecompressor,
} from '#src/oci/index.js';
import { spawnSync } from 'node:child_process';

const data = Buffer.from('hello layer data '.repeat(1000));
const sha256 = `sha256:${createHash('sha256').update(data).digest('hex')}`;
const sha512 = `sha512:${createHash('sha512').update(data).digest('hex')}`;

async function run(digest: string, size?: number, bytes = data): Promise<void> {
  await pipeline(
    Readable.from([bytes.subarray(0, 100), bytes.subarray(100)]),
    new DigestVerifier({ digest, size, what: 'blob' }),
    async function* (src) {
      for await (const _ of src) yield;
    },
  );
}

describe('DigestVerifier', () => {
  test.each([sha256, sha512])('passes matching bytes (%s)', async (d) => {
    await run(d, data.length);
  });

  test('fails a digest mismatch at the end', async () => {
    await expect(run(`sha256:${'0'.repeat(64)}`)).rejects.toMatchObject({
      code: 'ERR_OCI_DIGEST_MISMATCH',
    });
  });

  test('fails a short blob and a long blob against the descriptor size', async () => {
    await expect(run(sha256, data.length + 1)).rejects.toThrow(/size mismatch/);
    await expect(run(sha256, data.length - 1)).rejects.toThrow(
      /more bytes than the descriptor size/,
    );
  });

  test.each([
    'sha256:abc',
    'md5:' + '0'.repeat(32),
    'sha256:' + 'G'.repeat(64),
    'sha512:' + '0'.repeat(64),
  ])('refuses digest %s', (d) => {
    expect(() => parseDigest(d)).toThrow(expect.objectContaining({ code: 'ERR_OCI_MANIFEST' }));
  });
});

describe('parseAuthChallenge', () => {
  test('reads a Bearer challenge with quoted parameters', () => {
    expect(
      parseAuthChallenge(
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example.com/token',
        service: 'registry.example.com',
        scope: 'repository:a/b:pull',
      },
    });
  });

  test('reads a Basic challenge', () => {
    expect(parseAuthChallenge('Basic realm="x"')?.scheme).toBe('basic');
  });
});

const hasZstd = spawnSync('zstd', ['--version']).status === 0;
if (!hasZstd) console.log('skipping zstd interop test: zstd binary missing');

describe('ZstdDecompressor', () => {
  test.skipIf(!hasZstd)(
    'decompresses what the zstd tool compressed, chunked at any size',
    async () => {
      const compressed = spawnSync('zstd', ['-c', '-q'], { input: data }).stdout;
      for (const size of [1, 13, 4096]) {
        const parts: Buffer[] = [];
        for (let i = 0; i < compressed.length; i += size)
          parts.push(compressed.subarray(i, i + size));
        const out: Buffer[] = [];
        for await (const c of Readable.from(parts).pipe(new ZstdDecompressor()))
          out.push(c as Buffer);
        expect(Buffer.concat(out).equals(data)).toBe(true);
      }
    },
  );

  test('fails on corrupt input with ERR_OCI_UNPACK', async () => {
    const out = Readable.from([Buffer.from('definitely not zstd data')]).pipe(
      new ZstdDecompressor(),
    );
    await expect(out.toArray()).rejects.toMatchObject({ code: 'ERR_OCI_UNPACK' });
  });
});
