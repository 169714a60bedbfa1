import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { NULL_LOGGER } from '#src/lib/index.js';
import {
  copyVolume,
  DEFAULT_SHARED_VOLUME_LIMITS,
  isVolumeDirectory,
  MAX_VOLUME_FILE_BYTES,
  planVolumeCopy,
  unsafeSymlinkTarget,
} from '#src/host/runtime/volume-copy.js';
import { KUBELET_DATA_DIR, makeKubeletVolume } from '#test/helpers/kubelet-volume.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'kata-vol-'));
  dirs.push(d);
  return d;
}

describe('isVolumeDirectory', () => {
  test('kubelet volume plugins by path, any folder by its ..data symlink; not shm or emptyDir', async () => {
    const d = tmp();
    const secret = join(d, 'pods', 'u1', 'volumes', 'kubernetes.io~secret', 'creds');
    const empty = join(d, 'pods', 'u1', 'volumes', 'kubernetes.io~empty-dir', 'cache');
    const shm = join(d, 'shm');
    for (const p of [secret, empty, shm]) mkdirSync(p, { recursive: true });
    const cm = makeKubeletVolume(join(d, 'cm'), { 'app.conf': 'x=1' });
    expect(await isVolumeDirectory(secret)).toBe(true);
    expect(await isVolumeDirectory(cm)).toBe(true);
    expect(await isVolumeDirectory(empty)).toBe(false);
    expect(await isVolumeDirectory(shm)).toBe(false);
  });
});

describe('planVolumeCopy', () => {
  test("keeps kubelet's layout: the timestamped folder first, then its files and the symlinks", async () => {
    const v = makeKubeletVolume(tmp(), { password: 'hunter2', 'nested/key': 'n' });
    const plan = await planVolumeCopy(v, '/etc/creds', DEFAULT_SHARED_VOLUME_LIMITS);
    expect(plan.entries.map((e) => [e.kind, e.rel, e.kind === 'symlink' ? e.target : ''])).toEqual([
      ['directory', KUBELET_DATA_DIR, ''],
      ['symlink', '..data', KUBELET_DATA_DIR],
      ['symlink', 'nested', '..data/nested'],
      ['symlink', 'password', '..data/password'],
      ['directory', `${KUBELET_DATA_DIR}/nested`, ''],
      ['file', `${KUBELET_DATA_DIR}/password`, ''],
      ['file', `${KUBELET_DATA_DIR}/nested/key`, ''],
    ]);
    expect(plan.bytes).toBe(8);
    expect(plan.skipped).toEqual([]);
  });

  test('leaves out symlinks that could leave the tree and special files, with the reason', async () => {
    const v = makeKubeletVolume(tmp(), { ok: 'ok' });
    symlinkSync('/etc/shadow', join(v, 'abs'));
    symlinkSync('../../outside', join(v, 'up'));
    symlinkSync('a/../../b', join(v, 'mid'));
    const plan = await planVolumeCopy(v, '/v', DEFAULT_SHARED_VOLUME_LIMITS);
    expect(plan.skipped).toEqual([
      { rel: 'abs', reason: 'symlink skipped: its target is absolute' },
      { rel: 'mid', reason: 'symlink skipped: its target has a ".." component' },
      { rel: 'up', reason: 'symlink skipped: its target has a ".." component' },
    ]);
    expect(plan.entries.map((e) => e.rel)).not.toContain('abs');
  });

  test.each([
    [
      'entries',
      { maxEntries: 3 },
      (d: string) => makeKubeletVolume(d, { a: '1', b: '2' }),
      /has more than runtime.shared_volume_max_entries = 3 entries/,
    ],
    [
      'bytes',
      { maxBytes: 5 },
      (d: string) => makeKubeletVolume(d, { a: '123', b: '456' }),
      /more than runtime.shared_volume_max_bytes = 5 bytes/,
    ],
    [
      'depth',
      { maxDepth: 2 },
      (d: string) => makeKubeletVolume(d, { 'a/b/c': 'deep' }),
      /nested deeper than runtime.shared_volume_max_depth = 2/,
    ],
    [
      'one file',
      {},
      (d: string) => {
        writeFileSync(join(d, 'huge'), Buffer.alloc(MAX_VOLUME_FILE_BYTES + 1));
        return d;
      },
      /huge has 4194305 bytes, more than the guest's 4194304 per file/,
    ],
  ])(
    'a volume over its %s limit is ERR_RUNTIME_VOLUME naming the key',
    async (_w, l, make, why) => {
      const v = make(tmp());
      const err = await planVolumeCopy(v, '/etc/big', {
        ...DEFAULT_SHARED_VOLUME_LIMITS,
        ...l,
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'resource_exhausted', code: 'ERR_RUNTIME_VOLUME' });
      expect((err as Error).message).toMatch(
        /^volume mounted at \/etc\/big \(.*\) cannot be copied/,
      );
      expect((err as Error).message).toMatch(why);
      expect((err as Error).message).toMatch(/raise the limit in the runtime config/);
    },
  );

  test.each([
    ['..data/key', ''],
    ['..2026_12_02/x', ''],
    ['', 'its target is empty'],
    ['/abs', 'its target is absolute'],
    ['..', 'its target has a ".." component'],
    ['a/..', 'its target has a ".." component'],
    ['x'.repeat(4096), 'its target is longer than 4095 bytes'],
  ])('unsafeSymlinkTarget(%j) = %j', (target, why) => {
    expect(unsafeSymlinkTarget(target)).toBe(why);
  });

  test('a file that grew after the walk is not read past its walked size: ERR_RUNTIME_VOLUME', async () => {
    const v = makeKubeletVolume(tmp(), { key: 'small' });
    const plan = await planVolumeCopy(v, '/etc/k', DEFAULT_SHARED_VOLUME_LIMITS);
    writeFileSync(join(v, KUBELET_DATA_DIR, 'key'), 'much larger now');
    const ok = (): Promise<void> => Promise.resolve();
    const agent = { copyFile: ok, copyDirectory: ok, copySymlink: ok };
    await expect(
      copyVolume(agent, plan, '/run/kata-containers/shared/containers/c-0-k', {
        destination: '/etc/k',
        log: NULL_LOGGER,
      }),
    ).rejects.toMatchObject({
      code: 'ERR_RUNTIME_VOLUME',
      message: expect.stringMatching(
        /at \.\.2026.*\/key: .*changed size while it was copied \(5 bytes when walked\)/,
      ),
    });
  });
});
