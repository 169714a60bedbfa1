import { describe, expect, test } from 'vitest';
import {
  bootKernel,
  imageVmSpecPart,
  parseGuestImageManifest,
} from '#src/host/hypervisor/index.js';

const manifest = {
  version: 1,
  kernel: 'vmlinuz',
  kernelPvh: 'vmlinux',
  initrd: '/abs/initrd.img',
  rootfs: 'root.img',
  verityRootHash: 'ab'.repeat(32),
  verityHashOffset: 4096,
  kernelRelease: '6.1.0-57-cloud-amd64',
  kernelParams: ['kata.hashoffset=4096'],
  builtAt: '2026-12-02T00:00:00.000Z',
  inputsHash: '0123456789abcdef01234567',
};

describe('guest image kernels', () => {
  test('kernelPvh resolves against the manifest folder like the other files', () => {
    const image = parseGuestImageManifest(manifest, '/cache/guest/h/manifest.json');
    expect(image.kernel).toBe('/cache/guest/h/vmlinuz');
    expect(image.kernelPvh).toBe('/cache/guest/h/vmlinux');
    expect(image.initrd).toBe('/abs/initrd.img');
  });

  test('a manifest without kernelPvh (older builds) boots the bzImage everywhere', () => {
    const { kernelPvh: _dropped, ...old } = manifest;
    const image = parseGuestImageManifest(old, '/m/manifest.json');
    expect(image.kernelPvh).toBeUndefined();
    expect(bootKernel(image, { kind: 'none' })).toBe('/m/vmlinuz');
  });

  test.each([
    ['none', '/m/vmlinux'],
    ['tdx', '/m/vmlinuz'],
    ['snp', '/m/vmlinuz'],
  ] as const)('a %s guest boots %s', (kind, kernel) => {
    const image = parseGuestImageManifest(manifest, '/m/manifest.json');
    expect(bootKernel(image, { kind })).toBe(kernel);
    expect(imageVmSpecPart(image, { kind }).kernel).toBe(kernel);
  });

  test('kernelPvh must be a string', () => {
    expect(() =>
      parseGuestImageManifest({ ...manifest, kernelPvh: 5 }, '/m/manifest.json'),
    ).toThrow(/kernelPvh/);
  });
});
