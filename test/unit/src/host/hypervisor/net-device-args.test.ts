import { describe, expect, test } from 'vitest';
import { netDeviceArgs, qemuLaunch } from '#src/host/hypervisor/index.js';

const nic = { id: 'net0', tapName: 'tap0_kata', mac: '36:4d:a6:d1:fb:e7' };

describe('netDeviceArgs', () => {
  test('a tap netdev and a virtio-net-pci with the veth MAC and no option ROM', () => {
    expect(netDeviceArgs('q35', [nic], false)).toEqual([
      '-netdev',
      'tap,id=net0,ifname=tap0_kata,script=no,downscript=no,vhost=off',
      '-device',
      'virtio-net-pci,romfile=,netdev=net0,mac=36:4d:a6:d1:fb:e7,id=net0-nic',
    ]);
  });

  test('confidential guests get the modern-only IOMMU-platform device (cold-plugged)', () => {
    expect(netDeviceArgs('q35', [nic], true)[3]).toBe(
      'virtio-net-pci,disable-legacy=on,iommu_platform=on,romfile=,netdev=net0,mac=36:4d:a6:d1:fb:e7,id=net0-nic',
    );
    expect(netDeviceArgs('microvm', [nic], false)[3]).toMatch(/^virtio-net-device,netdev=net0/);
    expect(netDeviceArgs('q35', [], false)).toEqual([]);
  });

  test.each([
    [{ ...nic, id: 'net,0' }, /id/],
    [{ ...nic, tapName: 'tap0,script=/evil' }, /tapName/],
    [{ ...nic, tapName: 'a-very-long-tap-name' }, /tapName/],
    [{ ...nic, mac: '36:4D:A6:D1:FB:E7,x' }, /mac/],
    [{ ...nic, mac: '01:00:5e:00:00:01' }, /unicast/],
    [{ ...nic, mac: '00:00:00:00:00:00' }, /unicast/],
  ])('refuses %j', (d, why) => {
    expect(() => netDeviceArgs('q35', [d], false)).toThrow(why);
  });

  test('refuses a duplicate netdev id', () => {
    expect(() => netDeviceArgs('q35', [nic, { ...nic, tapName: 'tap1_kata' }], false)).toThrow(
      /twice/,
    );
  });
});

describe('qemuLaunch', () => {
  test('runs QEMU directly without a netns, under nsenter --net with one', () => {
    expect(qemuLaunch('/usr/bin/qemu', ['-a'], undefined)).toEqual({
      binary: '/usr/bin/qemu',
      args: ['-a'],
    });
    expect(qemuLaunch('/usr/bin/qemu', ['-a'], '/var/run/netns/cni-1')).toEqual({
      binary: 'nsenter',
      args: ['--net=/var/run/netns/cni-1', '--', '/usr/bin/qemu', '-a'],
    });
    expect(() => qemuLaunch('q', [], 'netns/x')).toThrow(/absolute/);
  });
});
