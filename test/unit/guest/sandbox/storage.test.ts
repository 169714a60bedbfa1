import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { Mounter } from '#guest/sandbox/mounter.js';
import { resolveBlockDevice, type StorageOptions } from '#guest/sandbox/storage.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const NO_MOUNTS: Mounter = {
  mount: () => Promise.reject(new Error('no mounts in this test')),
  unmount: () => Promise.reject(new Error('no mounts in this test')),
};

function fakeSysfs(serials: Record<string, string>): { sysfs: string; o: StorageOptions } {
  const sysfs = mkdtempSync(join(tmpdir(), 'kata-sysfs-'));
  dirs.push(sysfs);
  mkdirSync(join(sysfs, 'bus', 'pci'), { recursive: true });
  writeFileSync(join(sysfs, 'bus', 'pci', 'rescan'), '');
  for (const [dev, serial] of Object.entries(serials)) {
    mkdirSync(join(sysfs, 'block', dev), { recursive: true });
    writeFileSync(join(sysfs, 'block', dev, 'serial'), `${serial}\n`);
  }
  return {
    sysfs,
    o: {
      mounter: NO_MOUNTS,
      storageRoot: '/run/x',
      confidential: false,
      sysfs,
      deviceTimeoutMs: 100,
    },
  };
}

describe('resolveBlockDevice with a serial:<id> source', () => {
  test('refuses a serial that cannot be a virtio-blk serial', async () => {
    const { o } = fakeSysfs({});
    await expect(resolveBlockDevice('serial:has space', o)).rejects.toMatchObject({
      kind: 'invalid_argument',
    });
    await expect(resolveBlockDevice('serial:', o)).rejects.toMatchObject({
      kind: 'invalid_argument',
    });
  });

  test('keeps waiting for a disk that has not appeared, rescans the PCI bus once, and stops when cancelled', async () => {
    const { sysfs, o } = fakeSysfs({ vda: 'kata-root', vdb: 'c0' });
    const ac = new AbortController();
    const p = resolveBlockDevice('serial:c1', o, ac.signal);
    p.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 2_400));
    expect(readFileSync(join(sysfs, 'bus', 'pci', 'rescan'), 'utf8')).toBe('1');
    ac.abort();
    await expect(p).rejects.toMatchObject({ kind: 'cancelled' });
  });
});
