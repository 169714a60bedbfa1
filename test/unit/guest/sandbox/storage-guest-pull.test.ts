import { describe, expect, test } from 'vitest';
import type { Mounter } from '#guest/sandbox/mounter.js';
import {
  mountStorage,
  type GuestPullHandler,
  type StorageOptions,
} from '#guest/sandbox/storage.js';
import type { StorageSpec } from '#guest/sandbox/types.js';

const noMounts: Mounter = {
  mount: () => Promise.reject(new Error('no mount expected')),
  unmount: () => Promise.resolve(),
};

function options(over: Partial<StorageOptions> = {}): StorageOptions {
  return {
    mounter: noMounts,
    storageRoot: '/run/kata-containers',
    confidential: true,
    sysfs: '/sys',
    deviceTimeoutMs: 10,
    ...over,
  };
}

const spec: StorageSpec = {
  driver: 'image_guest_pull',
  source: 'r:5000/app:v1',
  fstype: 'overlay',
  options: [],
  driverOptions: ['image_guest_pull={}'],
  mountPoint: '/run/kata-containers/c1/rootfs',
};

describe('image_guest_pull in the storage dispatcher', () => {
  test('hands the storage and the container id to the guest-pull handler, even when confidential', async () => {
    const calls: [StorageSpec, string][] = [];
    const guestPull: GuestPullHandler = {
      mount(s, cid) {
        calls.push([s, cid]);
        return Promise.resolve({ mounts: [s.mountPoint], dirs: ['/store/x'] });
      },
    };
    const m = await mountStorage(spec, options({ guestPull, containerId: 'c1' }));
    expect(calls).toEqual([[spec, 'c1']]);
    expect(m).toEqual({ spec, mounts: [spec.mountPoint], dirs: ['/store/x'] });
  });

  test('is unimplemented without a handler', async () => {
    await expect(mountStorage(spec, options({ containerId: 'c1' }))).rejects.toMatchObject({
      kind: 'unimplemented',
      message: expect.stringMatching(/image_guest_pull: this agent has no image puller/) as unknown,
    });
  });

  test('is refused in CreateSandbox (no container) and outside the storage root', async () => {
    const guestPull: GuestPullHandler = { mount: () => Promise.reject(new Error('not called')) };
    await expect(mountStorage(spec, options({ guestPull }))).rejects.toMatchObject({
      kind: 'invalid_argument',
      message: expect.stringMatching(/belongs in CreateContainer/) as unknown,
    });
    await expect(
      mountStorage(
        { ...spec, mountPoint: '/etc/rootfs' },
        options({ guestPull, containerId: 'c1' }),
      ),
    ).rejects.toMatchObject({ kind: 'invalid_argument' });
  });
});
