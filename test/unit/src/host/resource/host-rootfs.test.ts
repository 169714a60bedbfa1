import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { buildRootfsImage, isMountPoint, mountRootfs, unmount } from '#src/host/resource/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'rootfs-'));
  dirs.push(d);
  return d;
}

describe('buildRootfsImage', () => {
  test('packs a folder into an erofs image', async () => {
    const d = tmp();
    mkdirSync(join(d, 'root', 'bin'), { recursive: true });
    writeFileSync(join(d, 'root', 'bin', 'hello'), 'hi');
    const img = await buildRootfsImage(join(d, 'root'), join(d, 'out', 'c.erofs'), {
      confidential: false,
    });
    expect(img.fsType).toBe('erofs');
    expect(img.sizeBytes).toBeGreaterThan(1024);
    // erofs superblock magic 0xE0F5E1E2 at offset 1024, little endian
    expect(readFileSync(img.path).readUInt32LE(1024)).toBe(0xe0f5e1e2);
  });

  test('refuses a host rootfs for a confidential pod', async () => {
    const d = tmp();
    await expect(
      buildRootfsImage(d, join(d, 'x.erofs'), { confidential: true }),
    ).rejects.toMatchObject({ code: 'ERR_RESOURCE_CONFIDENTIAL', kind: 'failed_precondition' });
  });

  test('names a missing rootfs folder', async () => {
    const d = tmp();
    await expect(
      buildRootfsImage(join(d, 'nope'), join(d, 'x.erofs'), { confidential: false }),
    ).rejects.toMatchObject({
      code: 'ERR_RESOURCE_IMAGE',
      message: expect.stringContaining('nope'),
    });
  });
});

describe('mountRootfs', () => {
  test('mounts containerd-style bind mounts and unmounts them again', async () => {
    const d = tmp();
    mkdirSync(join(d, 'src'));
    writeFileSync(join(d, 'src', 'f'), 'x');
    const target = join(d, 'rootfs');
    const made = await mountRootfs(
      [{ type: 'bind', source: join(d, 'src'), options: ['rbind', 'ro'] }],
      target,
    );
    expect(made).toEqual([target]);
    expect(isMountPoint(target)).toBe(true);
    expect(readFileSync(join(target, 'f'), 'utf8')).toBe('x');
    await unmount(target);
    expect(isMountPoint(target)).toBe(false);
  });

  test('reports a failing mount with the tool output', async () => {
    const d = tmp();
    await expect(
      mountRootfs([{ type: 'nosuchfs', source: 'none', options: [] }], join(d, 'r')),
    ).rejects.toMatchObject({ code: 'ERR_RESOURCE_MOUNT' });
  });
});
