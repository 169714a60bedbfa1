import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Secret } from '#src/lib/index.js';
import { parseDecryptionKey, pullImage, type PullProgressEvent } from '#src/oci/index.js';
import {
  buildImage,
  buildMultiArch,
  makeKeyPair,
  pushImage,
  referenceUnpack,
  tempDir,
  walkTree,
  zstdVariant,
  type ImageRecipe,
  type OciLayout,
} from '#test/helpers/images.js';
import {
  registryUnavailableReason,
  startRegistry,
  type TestRegistry,
} from '#test/helpers/registry.js';

export const TREE_RECIPE: ImageRecipe = {
  layers: [
    [
      { kind: 'busybox', path: 'bin/busybox' },
      { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
      { kind: 'hardlink', path: 'bin/ls', target: 'bin/busybox' },
      { kind: 'file', path: 'etc/hello', content: 'hello\n', mode: 0o644 },
      {
        kind: 'file',
        path: 'etc/shadow-ish',
        content: 'secret\n',
        mode: 0o600,
        uid: 1000,
        gid: 1001,
      },
      { kind: 'file', path: 'usr/bin/suid', content: '#!/bin/sh\n', mode: 0o4755 },
      { kind: 'symlink', path: 'etc/abs-link', target: '/etc/hello' },
      { kind: 'symlink', path: 'etc/dangling', target: '../nowhere/at/all' },
      { kind: 'dir', path: 'var/empty', mode: 0o700, uid: 65534, gid: 65534 },
      { kind: 'dir', path: 'tmp', mode: 0o1777 },
      { kind: 'file', path: 'opt/data/a', content: 'a' },
      { kind: 'file', path: 'opt/data/b', content: 'b' },
      { kind: 'file', path: 'opt/keep/x', content: 'x' },
      { kind: 'blob', path: 'opt/big.txt', size: 300_000, seed: 'tree' },
    ],
    [
      { kind: 'remove', path: 'etc/hello' },
      { kind: 'file', path: 'etc/new', content: 'second layer\n', mode: 0o640, uid: 0, gid: 42 },
      { kind: 'remove', path: 'opt/data' },
      { kind: 'file', path: 'opt/data/c', content: 'c' },
      { kind: 'remove', path: 'bin/ls' },
    ],
  ],
  cmd: ['/bin/sh'],
};

const skip =
  registryUnavailableReason() ??
  (process.getuid?.() === 0
    ? undefined
    : 'not root (the test image has files owned by other users)');
if (skip) console.log(`skipping OCI pull integration tests: ${skip}`);

describe.skipIf(skip !== undefined)('pullImage against a real docker-registry', () => {
  let registry: TestRegistry;
  let work: string;
  let keys: {
    rsa: { priv: string; pub: string };
    ec: { priv: string; pub: string };
    other: { priv: string; pub: string };
  };
  let gzipImage: OciLayout;

  beforeAll(async () => {
    registry = await startRegistry();
    work = await tempDir();
    keys = {
      rsa: await makeKeyPair(work, 'rsa'),
      ec: await makeKeyPair(work, 'ec'),
      other: await makeKeyPair(work, 'rsa', 'other'),
    };
    gzipImage = await buildImage(TREE_RECIPE);
    const zstd = await zstdVariant(gzipImage);
    await pushImage(gzipImage, registry.host, 'plain:gzip');
    await pushImage(gzipImage, registry.host, 'enc:gzip', { encryptionKey: keys.rsa.pub });
    await pushImage(zstd, registry.host, 'enc:zstd', { encryptionKey: keys.ec.pub });
    await pushImage(zstd, registry.host, 'plain:zstd');
  }, 600_000);

  afterAll(async () => {
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  });

  const rsaKey = (): Secret<ReturnType<typeof parseDecryptionKey>> =>
    new Secret(parseDecryptionKey(readFileSync(keys.rsa.priv)));
  const ecKey = (): Secret<ReturnType<typeof parseDecryptionKey>> =>
    new Secret(parseDecryptionKey(readFileSync(keys.ec.priv)));

  test.each([
    ['plain:gzip', undefined],
    ['enc:gzip', 'rsa'],
    ['enc:zstd', 'ec'],
    ['plain:zstd', undefined],
  ] as const)(
    'unpacks %s to exactly the tree skopeo + umoci unpack produce',
    async (name, keyType) => {
      const dir = await tempDir();
      try {
        const events: PullProgressEvent[] = [];
        const key = keyType === 'rsa' ? keys.rsa.priv : keyType === 'ec' ? keys.ec.priv : undefined;
        const pulled = await pullImage(`${registry.host}/${name}`, join(dir, 'ours'), {
          insecureRegistries: [registry.host],
          decryptionKeys: keyType === 'rsa' ? [rsaKey()] : keyType === 'ec' ? [ecKey()] : [],
          onProgress: (e) => events.push(e),
        });
        const reference = await referenceUnpack(
          registry.host,
          name,
          dir,
          key ? { decryptionKey: key } : {},
        );
        const ours = await walkTree(pulled.rootfs);
        const theirs = await walkTree(reference);
        expect(ours).toEqual(theirs);
        expect(ours.find((e) => e.path === 'etc/hello')).toBeUndefined();
        expect(ours.find((e) => e.path === 'opt/data/a')).toBeUndefined();
        expect(ours.find((e) => e.path === 'opt/data/c')).toBeDefined();
        expect(events.filter((e) => e.type === 'layer-done')).toHaveLength(
          pulled.manifest.layers.length,
        );
        expect(events.at(-1)?.type).toBe('done');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  test('picks linux/amd64 from a multi-arch index', async () => {
    const multi = await buildMultiArch({
      'linux/arm64': { layers: [[{ kind: 'file', path: 'arch', content: 'arm64' }]] },
      'linux/amd64': { layers: [[{ kind: 'file', path: 'arch', content: 'amd64' }]] },
    });
    await pushImage(multi, registry.host, 'multi:latest', { all: true });
    const dir = await tempDir();
    try {
      const pulled = await pullImage(`${registry.host}/multi:latest`, join(dir, 'r'), {
        insecureRegistries: [registry.host],
      });
      expect(readFileSync(join(pulled.rootfs, 'arch'), 'utf8')).toBe('amd64');
      expect(pulled.imageDigest).not.toBe(pulled.manifestDigest);
      expect(pulled.config.architecture).toBe('amd64');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test.each([
    [
      'no key',
      [] as string[],
      'ERR_OCI_NO_KEY',
      /^Failed to decrypt the image layer sha256:[0-9a-f]{64}: the image is encrypted and no decryption key/,
    ],
    [
      'the wrong key',
      ['other'],
      'ERR_OCI_DECRYPT',
      /^Failed to decrypt the image layer sha256:[0-9a-f]{64}: none of the 1 decryption key/,
    ],
  ])(
    'refuses an encrypted image with %s and leaves no rootfs',
    async (_what, which, code, message) => {
      const dir = await tempDir();
      try {
        const decryptionKeys = which.map(
          () => new Secret(parseDecryptionKey(readFileSync(keys.other.priv))),
        );
        const err = await pullImage(`${registry.host}/enc:gzip`, join(dir, 'r'), {
          insecureRegistries: [registry.host],
          decryptionKeys,
        }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code, kind: 'permission_denied' });
        expect((err as Error).message).toMatch(message);
        expect(readdirSync(dir)).toEqual([]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  test('refuses to pull into a non-empty destination', async () => {
    const dir = await tempDir();
    try {
      await pullImage(`${registry.host}/plain:gzip`, join(dir, 'r'), {
        insecureRegistries: [registry.host],
      });
      const err = await pullImage(`${registry.host}/plain:gzip`, join(dir, 'r'), {
        insecureRegistries: [registry.host],
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_OCI_DESTINATION' });
      expect(existsSync(join(dir, 'r', 'bin', 'busybox'))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
