import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NULL_LOGGER, Secret } from '#src/lib/index.js';
import {
  ANNOTATION_JWE,
  ANNOTATION_PROVIDER_PREFIX,
  parseDecryptionKey,
  unwrapJweAnnotation,
} from '#src/oci/index.js';
import { createSampleAttester } from '#guest/attester/index.js';
import {
  sealA256Gcm,
  startGuestComponents,
  type RunningGuestComponents,
} from '#guest/cdh/index.js';
import {
  CdhClient,
  DirectoryImageStore,
  GUEST_PULL_OPTION,
  GuestImagePuller,
  type ImageStore,
} from '#guest/image/index.js';
import { CommandMounter, type GuestPullMount, type StorageSpec } from '#guest/sandbox/index.js';
import { buildImage, makeKeyPair, pushImage, tempDir, walkTree } from '#test/helpers/images.js';
import type { TestKbs } from '#test/helpers/kbs.js';
import {
  getManifest,
  putManifest,
  registryUnavailableReason,
  startRegistry,
  type TestRegistry,
} from '#test/helpers/registry.js';
import { putResource, startSampleKbs } from '#test/unit/guest/kbs-client/kbs-fixture.js';

const skip = registryUnavailableReason();
if (skip) console.log(`skipping guest image pull tests: ${skip}`);

const KEK_URI = 'kbs:///default/image-kek/1';
const MARKER = 'pulled-in-the-guest-7f3a';

describe.skipIf(skip !== undefined)('image_guest_pull storage (GuestImagePuller)', () => {
  let reg: TestRegistry;
  let kbs: TestKbs;
  let gc: RunningGuestComponents;
  let work: string;
  let silent: Server;
  let silentHost = '';
  const sockets: Socket[] = [];
  const kek = new Uint8Array(32).fill(9);
  const mounter = new CommandMounter();
  const cdhs: CdhClient[] = [];
  let n = 0;

  beforeAll(async () => {
    reg = await startRegistry();
    work = await tempDir('kata-cc-gp-');
    const keys = await makeKeyPair(work, 'rsa');
    const img = await buildImage({
      layers: [
        [{ kind: 'busybox', path: 'bin/busybox' }],
        [{ kind: 'file', path: 'etc/marker', content: `${MARKER}\n` }],
      ],
    });
    await pushImage(img, reg.host, 'gp:plain');
    await pushImage(img, reg.host, 'gp:jwe', { encryptionKey: keys.pub });
    // re-wrap each layer key as the KBS keyprovider annotation packet the CDH unwraps
    const got = await getManifest(reg, 'gp', 'jwe');
    const m = JSON.parse(got.bytes.toString()) as {
      layers: { annotations: Record<string, string> }[];
    };
    const priv = [new Secret(parseDecryptionKey(readFileSync(keys.priv)))];
    for (const layer of m.layers) {
      const opts = await unwrapJweAnnotation(layer.annotations[ANNOTATION_JWE] ?? '', priv);
      if (!opts) throw new Error('cannot unwrap test layer');
      const w = sealA256Gcm(kek, opts);
      const packet = {
        kid: KEK_URI,
        wrapped_data: Buffer.from(w.sealed).toString('base64'),
        iv: Buffer.from(w.iv).toString('base64'),
        wrap_type: 'A256GCM',
      };
      layer.annotations = Object.fromEntries([
        ...Object.entries(layer.annotations).filter(([k]) => k !== ANNOTATION_JWE),
        [
          `${ANNOTATION_PROVIDER_PREFIX}attestation-agent`,
          Buffer.from(JSON.stringify(packet)).toString('base64'),
        ],
      ]);
    }
    await putManifest(reg, 'gp', 'kp', Buffer.from(JSON.stringify(m)), got.mediaType);
    kbs = await startSampleKbs();
    await putResource(kbs, 'default/image-kek/1', kek);
    await putResource(kbs, 'default/security-policy/reject', '{"default":[{"type":"reject"}]}');
    gc = await startGuestComponents({
      attester: createSampleAttester({}),
      kbsUrl: kbs.url,
      aaSocket: join(work, 'aa.sock'),
      cdhSocket: join(work, 'cdh.sock'),
      rest: false,
    });
    // a "registry" that accepts connections and never answers
    silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const a = silent.address();
    silentHost = `127.0.0.1:${String(typeof a === 'object' && a !== null ? a.port : 0)}`;
  }, 600_000);

  afterAll(async () => {
    for (const c of cdhs) await c.close();
    for (const s of sockets) s.destroy();
    silent.close();
    await gc.close();
    await kbs.stop();
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  });

  function setup(
    o: { cdhToml?: string; timeoutMs?: number; cdhSocket?: string; store?: ImageStore } = {},
  ) {
    n++;
    const root = join(work, `run-${String(n)}`);
    const storeDir = join(work, `store-${String(n)}`);
    const cdhConfigPath = join(work, `cdh-${String(n)}.toml`);
    if (o.cdhToml !== undefined) writeFileSync(cdhConfigPath, o.cdhToml);
    const cdh = new CdhClient({
      socketPath: o.cdhSocket ?? gc.cdhSocket,
      callTimeoutMs: 30_000,
      waitMs: 500,
      log: NULL_LOGGER,
    });
    cdhs.push(cdh);
    const puller = new GuestImagePuller({
      storageRoot: root,
      store: o.store ?? new DirectoryImageStore(storeDir),
      mounter,
      pullTimeoutMs: o.timeoutMs ?? 120_000,
      cdhConfigPath,
      insecureRegistries: [reg.host, silentHost],
      cdh,
      log: NULL_LOGGER,
    });
    const storage = (source: string, cid: string): StorageSpec => ({
      driver: 'image_guest_pull',
      source,
      fstype: 'overlay',
      options: [],
      driverOptions: [`${GUEST_PULL_OPTION}={"metadata":{}}`],
      mountPoint: join(root, cid, 'rootfs'),
    });
    return { puller, storage, root, storeDir };
  }

  /** What releaseStorage does at RemoveContainer. */
  async function release(m: GuestPullMount): Promise<void> {
    for (const t of [...m.mounts].reverse()) await mounter.unmount(t);
    for (const d of m.dirs) await rm(d, { recursive: true, force: true });
    await m.release?.();
  }

  test('pulls the image and mounts its rootfs at <root>/<cid>/rootfs; release frees the container layer', async () => {
    const { puller, storage, root, storeDir } = setup();
    const m = await puller.mount(storage(`${reg.host}/gp:plain`, 'c1'), 'c1');
    expect(m.mounts).toEqual([join(root, 'c1', 'rootfs')]);
    expect(readFileSync(join(root, 'c1', 'rootfs', 'etc', 'marker'), 'utf8')).toBe(`${MARKER}\n`);
    await release(m);
    // the container's layer is gone; the image stays for the pod's next container
    expect(readdirSync(storeDir).map((d) => d.replace(/-[0-9a-f]{8}$/, ''))).toEqual([
      expect.stringMatching(/^image-[0-9a-f]{12}$/),
    ]);
  });

  test('containers of one image share one pull; each writes to its own layer; an unused image stays for the next one', async () => {
    const { puller, storage, root, storeDir } = setup();
    const [a, b] = await Promise.all([
      puller.mount(storage(`${reg.host}/gp:plain`, 's1'), 's1'),
      puller.mount(storage(`${reg.host}/gp:plain`, 's2'), 's2'),
    ]);
    const c = await puller.mount(storage(`${reg.host}/gp:plain`, 's3'), 's3');
    expect(puller.pulls).toBe(1);
    writeFileSync(join(root, 's1', 'rootfs', 'etc', 'marker'), 'changed by s1\n');
    writeFileSync(join(root, 's1', 'rootfs', 'only-s1'), 'x');
    for (const other of ['s2', 's3']) {
      expect(readFileSync(join(root, other, 'rootfs', 'etc', 'marker'), 'utf8')).toBe(
        `${MARKER}\n`,
      );
      expect(existsSync(join(root, other, 'rootfs', 'only-s1'))).toBe(false);
    }
    await release(a);
    await release(b);
    await release(c);
    expect(readdirSync(storeDir)).toHaveLength(1); // the image alone, kept for the pod
    // a container started after the others are gone (init container, restart): no pull
    const d = await puller.mount(storage(`${reg.host}/gp:plain`, 's4'), 's4');
    expect(readFileSync(join(root, 's4', 'rootfs', 'etc', 'marker'), 'utf8')).toBe(`${MARKER}\n`);
    expect(existsSync(join(root, 's4', 'rootfs', 'only-s1'))).toBe(false);
    await release(d);
    expect(puller.pulls).toBe(1);
  });

  test('decrypts keyprovider layers with keys the CDH unwraps after attestation', async () => {
    const { puller, storage, root } = setup();
    const enc = await puller.mount(storage(`${reg.host}/gp:kp`, 'c2'), 'c2');
    const plain = await puller.mount(storage(`${reg.host}/gp:plain`, 'c3'), 'c3');
    try {
      expect(await walkTree(join(root, 'c2', 'rootfs'))).toEqual(
        await walkTree(join(root, 'c3', 'rootfs')),
      );
    } finally {
      await release(enc);
      await release(plain);
    }
  });

  test('an encrypted image without a reachable CDH fails clearly and leaves nothing', async () => {
    const { puller, storage, storeDir } = setup({ cdhSocket: join(work, 'no-cdh.sock') });
    const err = await puller
      .mount(storage(`${reg.host}/gp:kp`, 'c4'), 'c4')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_IMAGE_PULL', kind: 'permission_denied' });
    expect((err as Error).message).toMatch(
      /guest pull of .*gp:kp: Failed to decrypt the image layer sha256:[0-9a-f]{64}: .*confidential data hub is not reachable/,
    );
    expect(readdirSync(storeDir)).toEqual([]);
  });

  test('the signature policy named by cdh.toml comes from the KBS and is enforced', async () => {
    const { puller, storage, storeDir } = setup({
      cdhToml: '[image]\nimage_security_policy_uri = "kbs:///default/security-policy/reject"\n',
    });
    const err = await puller
      .mount(storage(`${reg.host}/gp:plain`, 'c5'), 'c5')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_IMAGE_PULL', kind: 'permission_denied' });
    expect((err as Error).message).toMatch(/Image policy rejected/);
    expect(readdirSync(storeDir)).toEqual([]);
  });

  test('a registry that never answers ends at the pull timeout with deadline_exceeded', async () => {
    const { puller, storage, storeDir } = setup({ timeoutMs: 1500 });
    const err = await puller
      .mount(storage(`${silentHost}/gp:plain`, 'c6'), 'c6')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_IMAGE_PULL_TIMEOUT', kind: 'deadline_exceeded' });
    expect((err as Error).message).toMatch(
      /^pulling image 127\.0\.0\.1:\d+\/gp:plain for container c6 did not finish within the image pull timeout of 2 s \(agent\.image_pull_timeout/,
    );
    expect(readdirSync(storeDir)).toEqual([]);
  });

  test('an image that does not fit the store is resource_exhausted naming the disk size key', async (ctx) => {
    const small = join(work, 'small');
    mkdirSync(small);
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
    if (r.status !== 0) {
      console.log(
        `skipping the no-space case: cannot mount a tmpfs (${r.stderr.toString().trim()})`,
      );
      ctx.skip();
    }
    try {
      const { puller, storage } = setup({ store: new DirectoryImageStore(join(small, 's')) });
      const err = await puller
        .mount(storage(`${reg.host}/gp:plain`, 'c7'), 'c7')
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_IMAGE_NO_SPACE', kind: 'resource_exhausted' });
      expect((err as Error).message).toMatch(
        /^image .*gp:plain does not fit the guest image storage, directory .* \(1 MiB in all\): .*runtime\.guest_pull_disk_mib/,
      );
      expect(readdirSync(join(small, 's'))).toEqual([]);
    } finally {
      spawnSync('umount', [small]);
    }
  });

  test('when the store is full, images no container uses are freed and the pull retried', async (ctx) => {
    const small = join(work, 'evict');
    mkdirSync(small);
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', small]);
    if (r.status !== 0) {
      console.log(
        `skipping the eviction case: cannot mount a tmpfs (${r.stderr.toString().trim()})`,
      );
      ctx.skip();
    }
    try {
      const big = await buildImage({
        layers: [[{ kind: 'blob', path: 'big.bin', size: 2_200_000, seed: 'evict-big' }]],
      });
      await pushImage(big, reg.host, 'gp:big');
      const store = join(small, 's');
      const { puller, storage, root } = setup({ store: new DirectoryImageStore(store) });
      await release(await puller.mount(storage(`${reg.host}/gp:plain`, 'e1'), 'e1'));
      const idle = readdirSync(store);
      expect(idle).toHaveLength(1); // the idle busybox image
      const m = await puller.mount(storage(`${reg.host}/gp:big`, 'e2'), 'e2');
      expect(readdirSync(store)).not.toContain(idle[0]); // it had to go to make room
      expect(existsSync(join(root, 'e2', 'rootfs', 'big.bin'))).toBe(true);
      expect(puller.pulls).toBe(2);
      await release(m);
    } finally {
      spawnSync('umount', ['-l', small]);
    }
  });

  test.each([
    ['a mount point of another container', (root: string) => join(root, 'other', 'rootfs')],
    ['a dot-dot mount point', (root: string) => `${root}/c8/../c8/rootfs`],
  ])('refuses %s before touching the network', async (_w, mp) => {
    const { puller, storage, root } = setup();
    const s = { ...storage(`${reg.host}/gp:plain`, 'c8'), mountPoint: mp(root) };
    await expect(puller.mount(s, 'c8')).rejects.toMatchObject({
      code: 'ERR_IMAGE_STORAGE',
      kind: 'invalid_argument',
    });
  });
});
