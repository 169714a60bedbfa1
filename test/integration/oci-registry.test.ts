import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Secret } from '#src/lib/index.js';
import { parseDecryptionKey, pullImage } from '#src/oci/index.js';
import {
  buildImage,
  makeKeyPair,
  pushImage,
  tempDir,
  walkTree,
  type ImageRecipe,
} from '#test/helpers/images.js';
import {
  blobPath,
  getManifest,
  putManifest,
  registryUnavailableReason,
  startCuttingProxy,
  startRegistry,
  TEST_PASSWORD,
  TEST_USER,
  uploadBlob,
  type TestRegistry,
} from '#test/helpers/registry.js';

const RECIPE: ImageRecipe = {
  layers: [
    [
      { kind: 'busybox', path: 'bin/busybox' },
      { kind: 'blob', path: 'data/blob.txt', size: 400_000, seed: 'registry-tests' },
      { kind: 'file', path: 'etc/id', content: 'registry-tests\n' },
    ],
  ],
};
const good = { username: TEST_USER, password: new Secret(TEST_PASSWORD) };
const bad = { username: TEST_USER, password: new Secret('wrong-password') };

const skip = registryUnavailableReason();
if (skip) console.log(`skipping OCI registry integration tests: ${skip}`);

async function withDest<T>(fn: (dest: string, dir: string) => Promise<T>): Promise<T> {
  const dir = await tempDir();
  try {
    return await fn(join(dir, 'rootfs'), dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe.skipIf(skip !== undefined)(
  'registry client against real docker-registry instances',
  () => {
    const registries: TestRegistry[] = [];
    let plain: TestRegistry;
    let basic: TestRegistry;
    let token: TestRegistry;
    let tls: TestRegistry;
    let work: string;

    beforeAll(async () => {
      [plain, basic, token, tls] = await Promise.all([
        startRegistry(),
        startRegistry({ auth: 'basic' }),
        startRegistry({ auth: 'token' }),
        startRegistry({ tls: true }),
      ]);
      registries.push(plain, basic, token, tls);
      work = await tempDir();
      const img = await buildImage(RECIPE);
      await Promise.all([
        pushImage(img, plain.host, 'app:1'),
        pushImage(img, basic.host, 'app:1', { creds: basic.creds }),
        pushImage(img, token.host, 'app:1', { creds: token.creds }),
        pushImage(img, tls.host, 'app:1'),
      ]);
    }, 600_000);

    afterAll(async () => {
      await Promise.all(registries.map((r) => r.stop()));
      await rm(work, { recursive: true, force: true });
    });

    test.each(['basic', 'token'] as const)(
      'pulls with the right credentials from a %s-auth registry',
      async (kind) => {
        const reg = kind === 'basic' ? basic : token;
        await withDest(async (dest) => {
          const r = await pullImage(`${reg.host}/app:1`, dest, {
            insecureRegistries: [reg.host],
            auth: good,
          });
          expect(readFileSync(join(r.rootfs, 'etc/id'), 'utf8')).toBe('registry-tests\n');
        });
      },
    );

    test.each([
      ['basic', 'wrong'],
      ['basic', 'no'],
      ['token', 'wrong'],
      ['token', 'no'],
    ] as const)(
      'a %s-auth registry with %s credentials fails with Not authorized and no rootfs',
      async (kind, creds) => {
        const reg = kind === 'basic' ? basic : token;
        await withDest(async (dest, dir) => {
          const err = await pullImage(`${reg.host}/app:1`, dest, {
            insecureRegistries: [reg.host],
            ...(creds === 'wrong' ? { auth: bad } : {}),
          }).catch((e: unknown) => e);
          expect(err).toMatchObject({ code: 'ERR_OCI_UNAUTHORIZED', kind: 'unauthenticated' });
          expect((err as Error).message).toMatch(/^Not authorized: /);
          expect(readdirSync(dir)).toEqual([]);
        });
      },
    );

    test('pulls over TLS when the registry CA is given and refuses it otherwise', async () => {
      await withDest(async (dest, dir) => {
        const err = await pullImage(`${tls.host}/app:1`, dest, {
          retry: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1 },
        }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'ERR_OCI_REGISTRY' });
        expect((err as Error).message).toMatch(/certificate/i);
        expect(readdirSync(dir)).toEqual([]);
        const r = await pullImage(`${tls.host}/app:1`, dest, { ca: [tls.caPem ?? ''] });
        expect(readFileSync(join(r.rootfs, 'etc/id'), 'utf8')).toBe('registry-tests\n');
      });
    });

    test('resumes a blob whose connection drops mid-transfer with a Range request', async () => {
      const proxy = await startCuttingProxy(plain.host, 200_000);
      try {
        await withDest(async (dest, dir) => {
          const r = await pullImage(`${proxy.host}/app:1`, dest, {
            insecureRegistries: [proxy.host],
          });
          expect(proxy.cuts).toBe(1);
          expect(proxy.sawRange).toBe(true);
          const direct = await pullImage(`${plain.host}/app:1`, join(dir, 'direct'), {
            insecureRegistries: [plain.host],
          });
          expect(await walkTree(r.rootfs)).toEqual(await walkTree(direct.rootfs));
        });
      } finally {
        await proxy.close();
      }
    });

    test('pulls through a mirror first and falls back to the registry when the mirror is down', async () => {
      await withDest(async (dest) => {
        const r = await pullImage(`${plain.host}/app:1`, dest, {
          insecureRegistries: [plain.host, '127.0.0.1:9'],
          mirrors: { [plain.host]: ['127.0.0.1:9'] },
          retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
        });
        expect(readFileSync(join(r.rootfs, 'etc/id'), 'utf8')).toBe('registry-tests\n');
      });
    });

    test('a flipped byte in a stored layer fails the digest check and leaves no rootfs', async () => {
      const img = await buildImage({
        layers: [[{ kind: 'blob', path: 'tamper.txt', size: 50_000, seed: 'tamper-digest' }]],
      });
      await pushImage(img, plain.host, 'tampered:1');
      const m = JSON.parse((await getManifest(plain, 'tampered', '1')).bytes.toString()) as {
        layers: { digest: string }[];
      };
      const path = blobPath(plain, m.layers[0]?.digest ?? '');
      const blob = readFileSync(path);
      blob[4] = (blob[4] ?? 0) ^ 0xff; // gzip header MTIME: still inflates, only the digest is wrong
      writeFileSync(path, blob);
      await withDest(async (dest, dir) => {
        const err = await pullImage(`${plain.host}/tampered:1`, dest, {
          insecureRegistries: [plain.host],
        }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'ERR_OCI_DIGEST_MISMATCH' });
        expect((err as Error).message).toMatch(/^layer sha256:[0-9a-f]{64}: digest mismatch/);
        expect(readdirSync(dir)).toEqual([]);
      });
    });

    test('a re-uploaded encrypted layer with a flipped byte fails the HMAC check and leaves no rootfs', async () => {
      const keys = await makeKeyPair(work, 'rsa', 'hmac');
      const img = await buildImage({
        layers: [[{ kind: 'blob', path: 'tamper.txt', size: 50_000, seed: 'tamper-hmac' }]],
      });
      await pushImage(img, plain.host, 'enc-tampered:1', { encryptionKey: keys.pub });
      const got = await getManifest(plain, 'enc-tampered', '1');
      const m = JSON.parse(got.bytes.toString()) as { layers: { digest: string; size: number }[] };
      const layer = m.layers[0];
      if (!layer) throw new Error('no layer');
      const blob = readFileSync(blobPath(plain, layer.digest));
      blob[4] = (blob[4] ?? 0) ^ 0x01; // AES-CTR: flips plaintext byte 4 (gzip MTIME) only
      layer.digest = await uploadBlob(plain, 'enc-tampered', blob);
      await putManifest(plain, 'enc-tampered', '2', Buffer.from(JSON.stringify(m)), got.mediaType);
      await withDest(async (dest, dir) => {
        const decryptionKeys = [new Secret(parseDecryptionKey(readFileSync(keys.priv)))];
        const err = await pullImage(`${plain.host}/enc-tampered:2`, dest, {
          insecureRegistries: [plain.host],
          decryptionKeys,
        }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'ERR_OCI_DECRYPT', kind: 'permission_denied' });
        expect((err as Error).message).toMatch(
          /^Failed to decrypt the image layer sha256:[0-9a-f]{64}: HMAC mismatch/,
        );
        expect(readdirSync(dir)).toEqual([]);
        await pullImage(`${plain.host}/enc-tampered:1`, dest, {
          insecureRegistries: [plain.host],
          decryptionKeys,
        });
      });
    });

    test('a missing image is not_found', async () => {
      await withDest(async (dest) => {
        await expect(
          pullImage(`${plain.host}/nope:1`, dest, { insecureRegistries: [plain.host] }),
        ).rejects.toMatchObject({ code: 'ERR_OCI_NOT_FOUND', kind: 'not_found' });
      });
    });
  },
);
