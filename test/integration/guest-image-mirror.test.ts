import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NULL_LOGGER } from '#src/lib/index.js';
import { createSampleAttester } from '#guest/attester/index.js';
import { startGuestComponents, type RunningGuestComponents } from '#guest/cdh/index.js';
import {
  CdhClient,
  DirectoryImageStore,
  GUEST_PULL_OPTION,
  GuestImagePuller,
} from '#guest/image/index.js';
import { CommandMounter, type GuestPullMount, type StorageSpec } from '#guest/sandbox/index.js';
import { buildImage, pushImage, tempDir } from '#test/helpers/images.js';
import type { TestKbs } from '#test/helpers/kbs.js';
import {
  blobPath,
  getManifest,
  registryUnavailableReason,
  startRegistry,
  type TestRegistry,
} from '#test/helpers/registry.js';
import { putResource, startSampleKbs } from '#test/unit/guest/kbs-client/kbs-fixture.js';

const skip = registryUnavailableReason();
if (skip) console.log(`skipping guest registry configuration tests: ${skip}`);

const CONF_URI = 'kbs:///default/registry-configuration/test';
const ORIGIN = 'origin.invalid'; // never resolves: nothing may come from the origin
const MARKER = 'came-through-a-mirror-51c2';

/** Changes one digit of the first "size" in a stored manifest: still JSON, another digest. */
function tamperManifest(reg: TestRegistry, digest: string): void {
  const path = blobPath(reg, digest);
  const text = readFileSync(path, 'utf8');
  const out = text.replace(
    /("size":\s*\d*)(\d)/,
    (_m, a: string, d: string) => `${a}${String((Number(d) + 1) % 10)}`,
  );
  if (out === text) throw new Error('no size field to tamper with');
  writeFileSync(path, out);
}

describe.skipIf(skip !== undefined)(
  'registries.conf in the guest (registry_configuration_uri)',
  () => {
    let empty: TestRegistry; // a mirror that has nothing
    let full: TestRegistry; // a mirror that has the image under a remapped path
    let kbs: TestKbs;
    let gc: RunningGuestComponents;
    let work: string;
    let digest = '';
    const mounter = new CommandMounter();
    const cdhs: CdhClient[] = [];
    let n = 0;

    beforeAll(async () => {
      [empty, full] = await Promise.all([startRegistry(), startRegistry()]);
      work = await tempDir('kata-cc-mirror-');
      const img = await buildImage({
        layers: [
          [{ kind: 'busybox', path: 'bin/busybox' }],
          [{ kind: 'file', path: 'etc/marker', content: `${MARKER}\n` }],
        ],
      });
      await pushImage(img, full.host, 'cache/team/app:1');
      digest = (await getManifest(full, 'cache/team/app', '1')).digest;
      // the empty mirror holds the same image only under another name, and a tampered one
      await pushImage(img, empty.host, 'cache/team/tampered:1');
      await pushImage(img, full.host, 'cache/team/tampered:1');
      tamperManifest(empty, digest);
      kbs = await startSampleKbs();
      gc = await startGuestComponents({
        attester: createSampleAttester({}),
        kbsUrl: kbs.url,
        aaSocket: join(work, 'aa.sock'),
        cdhSocket: join(work, 'cdh.sock'),
        rest: false,
      });
    }, 600_000);

    afterAll(async () => {
      for (const c of cdhs) await c.close();
      await gc.close();
      await kbs.stop();
      await Promise.all([empty.stop(), full.stop()]);
      await rm(work, { recursive: true, force: true });
    });

    async function setup(registriesConf: string, tag = `t${String(++n)}`) {
      await putResource(kbs, `default/registry-configuration/${tag}`, registriesConf);
      const root = join(work, `run-${tag}`);
      const storeDir = join(work, `store-${tag}`);
      const cdhConfigPath = join(work, `cdh-${tag}.toml`);
      writeFileSync(
        cdhConfigPath,
        `[image]\nregistry_configuration_uri = "${CONF_URI.replace(/test$/, tag)}"\n`,
      );
      const cdh = new CdhClient({
        socketPath: gc.cdhSocket,
        callTimeoutMs: 30_000,
        waitMs: 500,
        log: NULL_LOGGER,
      });
      cdhs.push(cdh);
      // no insecure registries here: plain HTTP to the mirrors comes from the registries.conf alone
      const puller = new GuestImagePuller({
        storageRoot: root,
        store: new DirectoryImageStore(storeDir),
        mounter,
        pullTimeoutMs: 120_000,
        cdhConfigPath,
        insecureRegistries: [],
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

    const mirrors = (o: { insecure?: boolean } = {}): string =>
      [
        '[[registry]]',
        `prefix = "${ORIGIN}/team"`,
        `location = "${ORIGIN}/team"`,
        '[[registry.mirror]]',
        `location = "${empty.host}/cache/team"`,
        'insecure = true',
        '[[registry.mirror]]',
        `location = "${full.host}/cache/team"`,
        `insecure = ${String(o.insecure ?? true)}`,
        '[[registry]]',
        'prefix = "blocked.example/forbidden"',
        'blocked = true',
      ].join('\n');

    async function release(m: GuestPullMount): Promise<void> {
      for (const t of [...m.mounts].reverse()) await mounter.unmount(t);
      for (const d of m.dirs) await rm(d, { recursive: true, force: true });
      await m.release?.();
    }

    test('pulls through the second mirror when the first lacks the image and the origin does not exist', async () => {
      const { puller, storage, root } = await setup(mirrors());
      const m = await puller.mount(storage(`${ORIGIN}/team/app:1`, 'c1'), 'c1');
      try {
        expect(readFileSync(join(root, 'c1', 'rootfs', 'etc', 'marker'), 'utf8')).toBe(
          `${MARKER}\n`,
        );
      } finally {
        await release(m);
      }
    });

    test('a mirror serving other bytes for a pinned digest is passed over: content comes from the honest one', async () => {
      // the first mirror really answers that digest with other bytes
      expect((await getManifest(empty, 'cache/team/tampered', digest)).digest).not.toBe(digest);
      const { puller, storage, root } = await setup(mirrors());
      const m = await puller.mount(storage(`${ORIGIN}/team/tampered@${digest}`, 'c2'), 'c2');
      try {
        expect(readFileSync(join(root, 'c2', 'rootfs', 'etc', 'marker'), 'utf8')).toBe(
          `${MARKER}\n`,
        );
      } finally {
        await release(m);
      }
    });

    test('when no source has the image the error names every mirror and the origin, and nothing is left', async () => {
      const { puller, storage, storeDir } = await setup(mirrors());
      const err = await puller
        .mount(storage(`${ORIGIN}/team/absent:1`, 'c3'), 'c3')
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_IMAGE_PULL' });
      const msg = (err as Error).message;
      expect(msg).toContain(
        `mirror ${empty.host}/cache/team/absent: manifest cache/team/absent:1 not found`,
      );
      expect(msg).toContain(`mirror ${full.host}/cache/team/absent:`);
      expect(msg).toContain(`registry ${ORIGIN}/team/absent: cannot reach registry ${ORIGIN}`);
      expect(readdirSync(storeDir)).toEqual([]);
    });

    test('without insecure = true the mirror is spoken to over TLS, which a plain registry cannot answer', async () => {
      const { puller, storage } = await setup(mirrors({ insecure: false }));
      const err = await puller
        .mount(storage(`${ORIGIN}/team/app:1`, 'c4'), 'c4')
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_IMAGE_PULL', kind: 'unavailable' });
      expect((err as Error).message).toContain(
        `mirror ${full.host}/cache/team/app: cannot reach registry ${full.host}`,
      );
    });

    test('a blocked prefix is refused before any request', async () => {
      const { puller, storage, storeDir } = await setup(mirrors());
      const err = await puller
        .mount(storage('blocked.example/forbidden/app:1', 'c5'), 'c5')
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_IMAGE_PULL', kind: 'permission_denied' });
      expect((err as Error).message).toMatch(
        /^guest pull of blocked\.example\/forbidden\/app:1: pulling blocked\.example\/forbidden\/app:1 is blocked by the registry configuration kbs:\/\/\/default\/registry-configuration\/t\d+ \(\[\[registry\]\] prefix "blocked\.example\/forbidden"/,
      );
      expect(readdirSync(storeDir)).toEqual([]);
    });

    test('a malformed registries.conf fails the pull with ERR_IMAGE_CONFIG naming the line and key', async () => {
      const { puller, storage } = await setup(
        '[[registry]]\nlocation = "a.example"\n\n[[registry.mirror]]\nlocaton = "m.example"\n',
      );
      const err = await puller
        .mount(storage(`${ORIGIN}/team/app:1`, 'c6'), 'c6')
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_IMAGE_CONFIG', kind: 'invalid_argument' });
      expect((err as Error).message).toMatch(
        /^registry configuration kbs:\/\/\/default\/registry-configuration\/t\d+: registry\[0\] \(line 1\)\.mirror\[0\] \(line 4\): unknown key "locaton"/,
      );
    });
  },
);
