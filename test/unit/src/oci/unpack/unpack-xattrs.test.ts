import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack, type Pack } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { isAvailable, lgetxattr, llistxattr, lsetxattr, unavailableReason } from '#native/index.js';
import { unpackLayer } from '#src/oci/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

type Entry = Parameters<Pack['entry']>[0] & { body?: string };

/** A tar of `entries`; each `marker` string in a PAX value is replaced by `bytes` (same length). */
async function tarOf(entries: readonly Entry[], patch?: { marker: string; bytes: Uint8Array }) {
  const p = pack();
  for (const { body, ...h } of entries) p.entry(h, body ?? '');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  const tar = Buffer.concat(chunks);
  if (patch) {
    const at = tar.indexOf(patch.marker);
    expect(at).toBeGreaterThan(0);
    tar.set(patch.bytes, at);
  }
  return Readable.from([tar]);
}

function probe(): string {
  if (!isAvailable()) return unavailableReason();
  const d = tmpdir('kata-cc-xattr-probe-');
  try {
    writeFileSync(join(d.path, 'f'), '');
    lsetxattr(join(d.path, 'f'), 'user.probe', new Uint8Array([1]));
    return '';
  } catch (err) {
    return `the tmp filesystem does not take user xattrs: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    d.remove();
  }
}
const why = probe();
if (why !== '') console.log(`unpack xattr tests skipped: ${why}`);

let dir: { path: string; remove(): void };
let rootfs: string;
beforeEach(() => {
  dir = tmpdir('kata-cc-unpack-xattr-');
  rootfs = join(dir.path, 'rootfs');
  mkdirSync(rootfs);
});
afterEach(() => {
  dir.remove();
});

describe('unpackLayer with setXattr', () => {
  test.skipIf(why !== '')('applies user.* text and binary values byte for byte', async () => {
    const bin = new Uint8Array([0x01, 0x00, 0x00, 0x02, 0x80, 0xff, 0x00, 0xc3]);
    const r = await unpackLayer(
      await tarOf(
        [
          { name: 'd/', type: 'directory', pax: { 'SCHILY.xattr.user.dir': 'on a dir' } },
          {
            name: 'd/f',
            body: 'x',
            pax: { 'SCHILY.xattr.user.test': 'héllo', 'SCHILY.xattr.user.bin': 'BINMARK!' },
          },
        ],
        { marker: 'BINMARK!', bytes: bin },
      ),
      rootfs,
      { setXattr: lsetxattr },
    );
    expect(r.xattrs).toEqual([]);
    expect(r.xattrsApplied).toBe(3);
    const f = join(rootfs, 'd/f');
    expect(lgetxattr(f, 'user.test').toString('utf8')).toBe('héllo');
    expect([...lgetxattr(f, 'user.bin')]).toEqual([...bin]);
    expect(lgetxattr(join(rootfs, 'd'), 'user.dir').toString()).toBe('on a dir');
  });

  const notRoot = process.getuid?.() !== 0;
  test.skipIf(why !== '' || notRoot)(
    'as root, sets a binary security.capability after chown',
    async () => {
      // VFS_CAP_REVISION_2: magic, permitted = cap_setuid|cap_net_bind_service (a 0x80 byte), no inheritable
      const cap = new Uint8Array(20);
      cap.set([0x01, 0x00, 0x00, 0x02, 0x80, 0x04, 0x00, 0x00]);
      const marker = 'CAPMARK!'.padEnd(20, '#');
      const r = await unpackLayer(
        await tarOf(
          [
            {
              name: 'ping',
              body: 'x',
              uid: 1000,
              pax: { 'SCHILY.xattr.security.capability': marker },
            },
          ],
          { marker, bytes: cap },
        ),
        rootfs,
        { setXattr: lsetxattr, preserveOwnership: true },
      );
      expect(r.xattrs).toEqual([]);
      expect([...lgetxattr(join(rootfs, 'ping'), 'security.capability')]).toEqual([...cap]);
    },
  );

  test.skipIf(why !== '')('skips system.* and unknown namespaces, recording why', async () => {
    const r = await unpackLayer(
      await tarOf([
        {
          name: 'f',
          body: 'x',
          pax: {
            'SCHILY.xattr.system.posix_acl_access': 'acl',
            'SCHILY.xattr.security.selinux': 'ctx',
            'SCHILY.xattr.user.ok': '1',
          },
        },
      ]),
      rootfs,
      { setXattr: lsetxattr },
    );
    expect(r.xattrsApplied).toBe(1);
    expect(r.xattrs.map((x) => x.name).sort()).toEqual([
      'security.selinux',
      'system.posix_acl_access',
    ]);
    expect(r.xattrs.find((x) => x.name.startsWith('system.'))?.reason).toMatch(/ACL/);
    expect(llistxattr(join(rootfs, 'f'))).toEqual(['user.ok']);
  });

  test.skipIf(why !== '')('a symlink entry with xattrs never touches its target', async () => {
    writeFileSync(join(rootfs, 'target'), 'lower');
    const r = await unpackLayer(
      await tarOf([
        { name: 'link', type: 'symlink', linkname: 'target', pax: { 'SCHILY.xattr.user.x': 'v' } },
        { name: 'abs', type: 'symlink', linkname: '/target', pax: { 'SCHILY.xattr.user.y': 'v' } },
      ]),
      rootfs,
      { setXattr: lsetxattr },
    );
    expect(llistxattr(join(rootfs, 'target'))).toEqual([]);
    // Linux refuses user.* on symlinks: recorded as skipped, the layer goes on
    expect(r.xattrs).toEqual([
      { path: 'link', name: 'user.x', reason: 'the target refused it (EPERM)' },
      { path: 'abs', name: 'user.y', reason: 'the target refused it (EPERM)' },
    ]);
  });

  test('a target that refuses (EOPNOTSUPP) is recorded; another failure fails the layer', async () => {
    const refuse = (): void => {
      throw Object.assign(new Error('nope'), { errnoCode: 'EOPNOTSUPP' });
    };
    const r = await unpackLayer(
      await tarOf([{ name: 'f', body: 'x', pax: { 'SCHILY.xattr.user.a': '1' } }]),
      rootfs,
      { setXattr: refuse },
    );
    expect(r.xattrs).toEqual([
      { path: 'f', name: 'user.a', reason: 'the target refused it (EOPNOTSUPP)' },
    ]);
    const broken = (): void => {
      throw Object.assign(new Error('disk'), { errnoCode: 'EIO' });
    };
    await expect(
      unpackLayer(
        await tarOf([{ name: 'g', body: 'x', pax: { 'SCHILY.xattr.user.a': '1' } }]),
        rootfs,
        { setXattr: broken, layer: 'sha256:l' },
      ),
    ).rejects.toMatchObject({
      code: 'ERR_OCI_UNPACK',
      message: expect.stringMatching(/user\.a on "g"/),
    });
  });

  test('passes the entry path inside the rootfs; never one through a symlinked parent', async () => {
    const outside = join(dir.path, 'outside');
    mkdirSync(outside);
    const seen: { path: string; name: string; value: number[] }[] = [];
    const setXattr = (path: string, name: string, value: Uint8Array): void => {
      seen.push({ path, name, value: [...value] });
    };
    await unpackLayer(
      await tarOf([{ name: './b', body: 'x', pax: { 'SCHILY.xattr.user.k': 'vv' } }]),
      rootfs,
      { setXattr },
    );
    expect(seen).toEqual([{ path: join(rootfs, 'b'), name: 'user.k', value: [0x76, 0x76] }]);
    seen.length = 0;
    const run = unpackLayer(
      await tarOf([
        { name: 'esc', type: 'symlink', linkname: outside },
        { name: 'esc/f', body: 'x', pax: { 'SCHILY.xattr.user.k': 'vv' } },
      ]),
      rootfs,
      { setXattr },
    );
    await expect(run).rejects.toMatchObject({ code: 'ERR_OCI_UNSAFE_ENTRY' });
    expect(seen).toEqual([]);
    expect(readdirSync(outside)).toEqual([]);
  });
});
