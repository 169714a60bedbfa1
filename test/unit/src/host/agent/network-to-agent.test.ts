import { describe, expect, test } from 'vitest';
import { IPFamily, UpdateInterfaceRequest } from '#src/protocol/agent/index.js';
import { toAgentInterface, toAgentRoute, toAgentSpec } from '#src/host/agent/index.js';
import { NULL_LOGGER } from '#src/lib/index.js';

describe('network translation to the Kata agent API', () => {
  test('an interface: device = name, hwAddr = MAC, mask = prefix length; it survives the wire', () => {
    const wire = toAgentInterface({
      name: 'eth0',
      mac: '36:4d:a6:d1:fb:e7',
      mtu: 1450,
      kind: 'veth',
      addresses: [
        { family: 'v4', address: '10.9.9.5', prefixLength: 24 },
        { family: 'v6', address: 'fd00::5', prefixLength: 64 },
      ],
    });
    expect(wire).toMatchObject({
      device: 'eth0',
      name: 'eth0',
      hwAddr: '36:4d:a6:d1:fb:e7',
      mtu: 1450,
      type: 'veth',
      IPAddresses: [
        { family: IPFamily.v4, address: '10.9.9.5', mask: '24' },
        { family: IPFamily.v6, address: 'fd00::5', mask: '64' },
      ],
    });
    const bytes = UpdateInterfaceRequest.encode({ interface: wire }).finish();
    expect(UpdateInterfaceRequest.decode(bytes).interface).toEqual(wire);
  });

  test('a route keeps dest "" for the default route', () => {
    expect(
      toAgentRoute({
        family: 'v4',
        dest: '',
        gateway: '10.9.9.1',
        device: 'eth0',
        source: '',
        scope: 0,
      }),
    ).toEqual({
      dest: '',
      gateway: '10.9.9.1',
      device: 'eth0',
      source: '',
      scope: 0,
      family: IPFamily.v4,
    });
  });

  test('bind mounts from the guest shared-files folder are kept, host bind mounts dropped', () => {
    const spec = toAgentSpec(
      {
        process: { args: ['sh'] },
        mounts: [
          {
            destination: '/etc/hosts',
            type: 'bind',
            source: '/run/kata-containers/shared/containers/c1-00-hosts',
            options: ['rbind'],
          },
          {
            destination: '/etc/resolv.conf',
            type: 'bind',
            source: '/var/lib/containerd/x/resolv.conf',
            options: ['rbind'],
          },
          {
            destination: '/etc/x',
            type: 'bind',
            source: '/run/kata-containers/shared/containersX/evil',
            options: ['rbind'],
          },
        ],
      },
      { rootPath: '/run/kata-containers/shared/containers/c1/rootfs', logger: NULL_LOGGER },
    );
    expect(spec.Mounts.map((m) => m.destination)).toEqual(['/etc/hosts']);
  });
});
