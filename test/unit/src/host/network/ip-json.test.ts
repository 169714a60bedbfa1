import { describe, expect, test } from 'vitest';
import { parseIpJsonArray, parseIpRoutes, selectPodInterfaces } from '#src/host/network/index.js';

const link = (o: Record<string, unknown>): Record<string, unknown> => ({
  ifname: 'eth0',
  link_type: 'ether',
  address: '36:4D:A6:D1:FB:E7',
  mtu: 1450,
  linkinfo: { info_kind: 'veth' },
  addr_info: [
    { family: 'inet', local: '10.9.9.5', prefixlen: 24, scope: 'global' },
    { family: 'inet6', local: 'fe80::344d:a6ff:fed1:fbe7', prefixlen: 64, scope: 'link' },
    { family: 'inet6', local: 'fd00::5', prefixlen: 64, scope: 'global' },
  ],
  ...o,
});

describe('selectPodInterfaces', () => {
  test('wires a CNI veth with its MAC (lower-cased), MTU and global addresses only', () => {
    const text = JSON.stringify([
      { ifname: 'lo', link_type: 'loopback', address: '00:00:00:00:00:00', mtu: 65536 },
      link({}),
    ]);
    expect(selectPodInterfaces(text)).toEqual({
      interfaces: [
        {
          name: 'eth0',
          mac: '36:4d:a6:d1:fb:e7',
          mtu: 1450,
          kind: 'veth',
          addresses: [
            { family: 'v4', address: '10.9.9.5', prefixLength: 24 },
            { family: 'v6', address: 'fd00::5', prefixLength: 64 },
          ],
        },
      ],
      skipped: [],
    });
  });

  test.each([
    ['our own tap', link({ ifname: 'tap0_kata', linkinfo: { info_kind: 'tun' } }), /kata-cc tap/],
    ['a bridge', link({ ifname: 'br0', linkinfo: { info_kind: 'bridge' } }), /kind bridge/],
    ['a name with a slash', link({ ifname: 'a/b' }), /plain interface name/],
    ['no MAC', link({ address: 'zz' }), /MAC/],
    ['an absurd MTU', link({ mtu: 10_000_000 }), /mtu/],
    ['a non-ether link', link({ link_type: 'none' }), /not ether/],
  ])('skips %s with a reason', (_what, l, reason) => {
    const r = selectPodInterfaces(JSON.stringify([l]));
    expect(r.interfaces).toEqual([]);
    expect(r.skipped[0]?.reason).toMatch(reason);
  });

  test('drops malformed addresses instead of sending them', () => {
    const r = selectPodInterfaces(
      JSON.stringify([
        link({
          addr_info: [
            { family: 'inet', local: '10.9.9.300', prefixlen: 24 },
            { family: 'inet', local: '10.9.9.5', prefixlen: 40 },
            { family: 'inet6', local: '10.9.9.5', prefixlen: 24 },
            'junk',
          ],
        }),
      ]),
    );
    expect(r.interfaces[0]?.addresses).toEqual([]);
  });

  test('rejects output that is not a JSON array', () => {
    expect(() => parseIpJsonArray('{"a":1}', 'ip addr')).toThrow(/expected a JSON array/);
    expect(() => parseIpJsonArray('not json', 'ip addr')).toThrow(
      expect.objectContaining({ code: 'ERR_NET_SCAN' }),
    );
    expect(parseIpJsonArray('', 'ip addr')).toEqual([]);
  });
});

describe('parseIpRoutes', () => {
  const devices = new Set(['eth0']);
  test('puts the connected route before the default route through the gateway', () => {
    const text = JSON.stringify([
      { dst: 'default', gateway: '10.9.9.1', dev: 'eth0', flags: [] },
      { dst: '10.9.9.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '10.9.9.5' },
      { dst: '10.9.9.7', dev: 'eth0', scope: 'link' },
    ]);
    expect(parseIpRoutes(text, 'v4', devices)).toEqual([
      {
        family: 'v4',
        dest: '10.9.9.0/24',
        gateway: '',
        device: 'eth0',
        source: '10.9.9.5',
        scope: 253,
      },
      { family: 'v4', dest: '10.9.9.7/32', gateway: '', device: 'eth0', source: '', scope: 253 },
      { family: 'v4', dest: '', gateway: '10.9.9.1', device: 'eth0', source: '', scope: 0 },
    ]);
  });

  test('ignores other devices, non-unicast types, link-local IPv6 and malformed entries', () => {
    const text = JSON.stringify([
      { dst: 'default', gateway: '10.0.0.1', dev: 'eth1' },
      { type: 'multicast', dst: 'ff00::/8', dev: 'eth0' },
      { dst: 'fe80::/64', dev: 'eth0' },
      { dst: '10.9.9.0/99', dev: 'eth0' },
      { dst: 'default', gateway: 'fd00::1', dev: 'eth0' },
      { dst: '10.1.0.0/16', dev: 'eth0', scope: 'weird' },
    ]);
    expect(parseIpRoutes(text, 'v4', devices)).toEqual([]);
    expect(
      parseIpRoutes(
        JSON.stringify([{ dst: 'default', gateway: 'fd00::1', dev: 'eth0' }]),
        'v6',
        devices,
      ),
    ).toEqual([
      { family: 'v6', dest: '', gateway: 'fd00::1', device: 'eth0', source: '', scope: 0 },
    ]);
  });
});
