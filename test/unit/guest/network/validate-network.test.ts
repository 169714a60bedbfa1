import { describe, expect, test } from 'vitest';
import {
  checkCidr,
  parseInterfaceUpdate,
  parseRoutes,
  type RawInterface,
  type RawRoute,
} from '#guest/network/index.js';

const iface = (o: Partial<RawInterface> = {}): RawInterface => ({
  device: 'eth0',
  name: 'eth0',
  IPAddresses: [{ family: 0, address: '10.9.9.5', mask: '24' }],
  mtu: 1450,
  hwAddr: '36:4D:A6:D1:FB:E7',
  pciPath: '',
  type: 'veth',
  raw_flags: 0,
  ...o,
});
const route = (o: Partial<RawRoute> = {}): RawRoute => ({
  dest: '10.9.9.0/24',
  gateway: '',
  device: 'eth0',
  source: '10.9.9.5',
  scope: 253,
  family: 0,
  ...o,
});

describe('parseInterfaceUpdate', () => {
  test('accepts a Kata interface and lower-cases the MAC', () => {
    expect(parseInterfaceUpdate(iface())).toEqual({
      name: 'eth0',
      mac: '36:4d:a6:d1:fb:e7',
      mtu: 1450,
      addresses: [{ family: 'v4', address: '10.9.9.5', prefixLength: 24 }],
    });
  });

  test.each([
    ['a name with a slash', { name: 'eth/0' }, /interface.name.*not a valid interface name/],
    ['a name of 16 characters', { name: 'a234567890123456' }, /interface.name/],
    ['the name lo', { name: 'lo' }, /interface.name/],
    ['a name starting with a dash', { name: '-x' }, /interface.name/],
    ['an empty name', { name: '' }, /interface.name/],
    ['a name with a space', { name: 'eth 0' }, /interface.name/],
    ['a bad device', { device: '../x' }, /interface.device/],
    ['a bad MAC', { hwAddr: '36:4d:a6:d1:fb' }, /interface.hwAddr/],
    ['a multicast MAC', { hwAddr: '01:00:5e:00:00:01' }, /unicast/],
    ['an absurd MTU', { mtu: 1_000_000 }, /interface.mtu/],
    ['a tiny MTU', { mtu: 10 }, /interface.mtu/],
    ['a fractional MTU', { mtu: 1500.5 }, /interface.mtu/],
    [
      'a bad address',
      { IPAddresses: [{ family: 0, address: '10.9.9.300', mask: '24' }] },
      /IPAddresses\[0\].address/,
    ],
    [
      'an IPv6 address marked v4',
      { IPAddresses: [{ family: 0, address: 'fd00::1', mask: '64' }] },
      /IPAddresses\[0\].address/,
    ],
    ['a bad family', { IPAddresses: [{ family: 7, address: '10.9.9.5', mask: '24' }] }, /family/],
    ['a bad mask', { IPAddresses: [{ family: 0, address: '10.9.9.5', mask: '33' }] }, /mask/],
    [
      'a netmask instead of a prefix',
      { IPAddresses: [{ family: 0, address: '10.9.9.5', mask: '255.255.255.0' }] },
      /mask/,
    ],
    [
      'IPv6 with an MTU below 1280',
      { mtu: 1000, IPAddresses: [{ family: 1, address: 'fd00::5', mask: '64' }] },
      /mtu/,
    ],
    [
      'too many addresses',
      {
        IPAddresses: Array.from({ length: 33 }, (_, i) => ({
          family: 0,
          address: `10.0.0.${i}`,
          mask: '24',
        })),
      },
      /at most 32/,
    ],
    ['a long pciPath', { pciPath: 'x'.repeat(65) }, /pciPath/],
  ])('rejects %s with INVALID_ARGUMENT', (_what, o, why) => {
    let err: unknown;
    try {
      parseInterfaceUpdate(iface(o));
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ kind: 'invalid_argument', code: 'ERR_NET_INVALID' });
    expect((err as Error).message).toMatch(why);
  });

  test('mtu 0 keeps the current MTU; duplicate addresses collapse', () => {
    const a = { family: 0, address: '10.9.9.5', mask: '24' };
    expect(parseInterfaceUpdate(iface({ mtu: 0, IPAddresses: [a, a] }))).toMatchObject({
      mtu: 0,
      addresses: [{ address: '10.9.9.5' }],
    });
    expect(() => parseInterfaceUpdate(undefined)).toThrow(/interface: missing/);
  });
});

describe('parseRoutes', () => {
  test('orders gateway-less routes first and maps default to an empty dest', () => {
    const r = parseRoutes([
      route({ dest: '', gateway: '10.9.9.1', source: '', scope: 0 }),
      route(),
    ]);
    expect(r.map((x) => [x.dest, x.gateway])).toEqual([
      ['10.9.9.0/24', ''],
      ['', '10.9.9.1'],
    ]);
    expect(parseRoutes([route({ dest: 'default', gateway: '10.9.9.1' })])[0]?.dest).toBe('');
    expect(parseRoutes(undefined)).toEqual([]);
  });

  test.each([
    ['a CIDR with host bits', { dest: '10.9.9.5/24' }, /host bits/],
    ['a bad CIDR', { dest: '10.9.9.0/40' }, /dest/],
    ['a plain address', { dest: '10.9.9.0' }, /CIDR/],
    ['a gateway of the other family', { gateway: 'fd00::1' }, /gateway/],
    ['a source that is not an address', { source: 'x' }, /source/],
    ['a device with a slash', { device: 'eth0/../x' }, /device/],
    ['a scope above 255', { scope: 300 }, /scope/],
    ['an unknown family', { family: 2 }, /family/],
  ])('rejects %s', (_what, o, why) => {
    expect(() => parseRoutes([route(o)])).toThrow(why);
  });

  test('rejects more than 256 routes', () => {
    expect(() => parseRoutes(Array.from({ length: 257 }, () => route()))).toThrow(/at most 256/);
  });
});

describe('checkCidr', () => {
  test.each([
    ['fd00::/64', 'v6', true],
    ['fd00::1/64', 'v6', false],
    ['fd00:0:0:0:1::/80', 'v6', true],
    ['::/0', 'v6', true],
    ['0.0.0.0/0', 'v4', true],
    ['10.0.0.0/8', 'v4', true],
    ['10.0.0.1/8', 'v4', false],
    ['10.0.0.1/32', 'v4', true],
  ] as const)('%s (%s) is a network address: %s', (cidr, family, ok) => {
    if (ok) expect(checkCidr(cidr, family, 'dest')).toBe(cidr);
    else expect(() => checkCidr(cidr, family, 'dest')).toThrow(/host bits/);
  });
});
