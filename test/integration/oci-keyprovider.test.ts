import { spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Secret } from '#src/lib/index.js';
import {
  ANNOTATION_JWE,
  ANNOTATION_PROVIDER_PREFIX,
  parseDecryptionKey,
  pullImage,
  unwrapJweAnnotation,
  type KeyUnwrapper,
} from '#src/oci/index.js';
import { buildImage, makeKeyPair, pushImage, tempDir, walkTree } from '#test/helpers/images.js';
import {
  getManifest,
  putManifest,
  registryUnavailableReason,
  startRegistry,
  type TestRegistry,
} from '#test/helpers/registry.js';

const skip = registryUnavailableReason();
if (skip) console.log(`skipping OCI keyprovider/ENOSPC tests: ${skip}`);

const PROVIDER = 'attestation-agent';

/** What a KBS-backed key provider would do: AES-256-GCM with a key-encryption key it holds. */
function wrap(kek: Buffer, optsData: Uint8Array): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', kek, iv);
  const data = Buffer.concat([c.update(optsData), c.final()]);
  return Buffer.from(
    JSON.stringify({
      kid: 'kbs:///default/image-kek/1',
      iv: iv.toString('base64'),
      tag: c.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    }),
  ).toString('base64');
}

function unwrapperFor(kek: Buffer, seen: string[]): KeyUnwrapper {
  return {
    unwrapKey(req) {
      seen.push(req.provider);
      const o = JSON.parse(Buffer.from(req.annotation).toString()) as {
        iv: string;
        tag: string;
        data: string;
      };
      const d = createDecipheriv('aes-256-gcm', kek, Buffer.from(o.iv, 'base64'));
      d.setAuthTag(Buffer.from(o.tag, 'base64'));
      return Promise.resolve(Buffer.concat([d.update(Buffer.from(o.data, 'base64')), d.final()]));
    },
  };
}

describe.skipIf(skip !== undefined)('keyprovider-wrapped layers and full disks', () => {
  let reg: TestRegistry;
  let work: string;
  const kek = randomBytes(32);

  beforeAll(async () => {
    reg = await startRegistry();
    work = await tempDir();
    const keys = await makeKeyPair(work, 'rsa');
    const img = await buildImage({
      layers: [
        [
          { kind: 'busybox', path: 'bin/busybox' },
          { kind: 'file', path: 'etc/kp', content: 'provider\n' },
        ],
        [{ kind: 'blob', path: 'data/big.txt', size: 3 << 20, seed: 'enospc' }],
      ],
    });
    await pushImage(img, reg.host, 'kp:jwe', { encryptionKey: keys.pub });
    await pushImage(img, reg.host, 'kp:plain');
    // re-wrap every layer key for the key provider instead of JWE
    const got = await getManifest(reg, 'kp', 'jwe');
    const m = JSON.parse(got.bytes.toString()) as {
      layers: { annotations: Record<string, string> }[];
    };
    const priv = [new Secret(parseDecryptionKey(readFileSync(keys.priv)))];
    for (const layer of m.layers) {
      const opts = await unwrapJweAnnotation(layer.annotations[ANNOTATION_JWE] ?? '', priv);
      if (!opts) throw new Error('cannot unwrap test layer');
      layer.annotations = Object.fromEntries([
        ...Object.entries(layer.annotations).filter(([k]) => k !== ANNOTATION_JWE),
        [`${ANNOTATION_PROVIDER_PREFIX}${PROVIDER}`, wrap(kek, opts)],
      ]);
    }
    await putManifest(reg, 'kp', 'provider', Buffer.from(JSON.stringify(m)), got.mediaType);
  }, 600_000);

  afterAll(async () => {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('decrypts layers whose keys the injected KeyUnwrapper unwraps', async () => {
    const seen: string[] = [];
    const a = await pullImage(`${reg.host}/kp:provider`, join(work, 'a'), {
      insecureRegistries: [reg.host],
      keyUnwrapper: unwrapperFor(kek, seen),
    });
    const b = await pullImage(`${reg.host}/kp:plain`, join(work, 'b'), {
      insecureRegistries: [reg.host],
    });
    expect(seen).toEqual([PROVIDER, PROVIDER]);
    expect(await walkTree(a.rootfs)).toEqual(await walkTree(b.rootfs));
  });

  test.each([
    [
      'a key provider that fails',
      unwrapperFor(randomBytes(32), []),
      'ERR_OCI_DECRYPT',
      /the key provider could not unwrap it \(attestation-agent: /,
    ],
    ['no key provider', undefined, 'ERR_OCI_NO_KEY', /no decryption key was given/],
  ])('refuses the image with %s and leaves nothing', async (_what, keyUnwrapper, code, why) => {
    const dir = await tempDir();
    try {
      const err = await pullImage(`${reg.host}/kp:provider`, join(dir, 'r'), {
        insecureRegistries: [reg.host],
        keyUnwrapper,
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code, kind: 'permission_denied' });
      expect((err as Error).message).toMatch(
        /^Failed to decrypt the image layer sha256:[0-9a-f]{64}: /,
      );
      expect((err as Error).message).toMatch(why);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('an image that does not fit fails with resource_exhausted naming the layer, leaving nothing', async (ctx) => {
    const mnt = join(work, 'small');
    mkdirSync(mnt);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
    if (mounted.status !== 0) {
      console.log(
        `skipping ENOSPC test: cannot mount a tmpfs (${mounted.stderr.toString().trim()})`,
      );
      ctx.skip();
    }
    try {
      const err = await pullImage(`${reg.host}/kp:plain`, join(mnt, 'rootfs'), {
        insecureRegistries: [reg.host],
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_OCI_NO_SPACE', kind: 'resource_exhausted' });
      expect((err as Error).message).toMatch(
        /^the image does not fit: no space left while unpacking layer sha256:[0-9a-f]{64}/,
      );
      expect(readdirSync(mnt)).toEqual([]);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});
