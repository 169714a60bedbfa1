import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { GuestNetwork, routeAddArgs, type IpRunner } from '#guest/network/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fake /sys/class/net with `links` (name → MAC) and an ip runner that records and answers. */
function fake(links: Record<string, string>, answers: Record<string, string> = {}) {
  const sys = mkdtempSync(join(tmpdir(), 'kata-sysnet-'));
  dirs.push(sys);
  for (const [name, mac] of Object.entries(links)) {
    mkdirSync(join(sys, name));
    writeFileSync(join(sys, name, 'address'), `${mac}\n`);
    writeFileSync(join(sys, name, 'mtu'), '1500\n');
  }
  const calls: string[] = [];
  const ip: IpRunner = (args) => {
    const line = args.join(' ');
    calls.push(line);
    if (line.startsWith('link set dev') && line.includes(' name ')) {
      const [, , , from = '', , to = ''] = args;
      rmSync(join(sys, to), { recursive: true, force: true });
      mkdirSync(join(sys, to));
      writeFileSync(join(sys, to, 'address'), links[from] ?? '');
      writeFileSync(join(sys, to, 'mtu'), '1500\n');
      rmSync(join(sys, from), { recursive: true, force: true });
    }
    return Promise.resolve(answers[line] ?? '');
  };
  return { net: new GuestNetwork({ ip, sysClassNet: sys, deviceTimeoutMs: 200 }), calls };
}

describe('GuestNetwork', () => {
  test('UpdateInterface finds the NIC by MAC, renames it, sets MTU and addresses, brings it up', async () => {
    const { net, calls } = fake({ enp0s3: '36:4d:a6:d1:fb:e7', lo: '00:00:00:00:00:00' });
    await net.updateInterface({
      name: 'eth0',
      mac: '36:4d:a6:d1:fb:e7',
      mtu: 1450,
      addresses: [{ family: 'v4', address: '10.9.9.5', prefixLength: 24 }],
    });
    expect(calls.slice(0, 6)).toEqual([
      'link set dev enp0s3 down',
      'link set dev enp0s3 name eth0',
      'link set dev eth0 mtu 1450',
      'addr flush dev eth0',
      'addr add 10.9.9.5/24 dev eth0',
      'link set dev eth0 up',
    ]);
  });

  test('an unknown MAC is NOT_FOUND after the wait; a name taken by another NIC is refused', async () => {
    const { net } = fake({ eth0: '36:4d:a6:d1:fb:e7', eth1: '36:4d:a6:d1:fb:e8' });
    await expect(
      net.updateInterface({ name: 'eth0', mac: '02:00:00:00:00:01', mtu: 0, addresses: [] }),
    ).rejects.toMatchObject({ kind: 'not_found', code: 'ERR_NET_NOT_FOUND' });
    await expect(
      net.updateInterface({ name: 'eth0', mac: '36:4d:a6:d1:fb:e8', mtu: 0, addresses: [] }),
    ).rejects.toMatchObject({
      kind: 'invalid_argument',
      message: expect.stringMatching(/already the name/),
    });
  });

  test('UpdateRoutes replaces the routes of the named devices (IPv6 link-local stays)', async () => {
    const { net, calls } = fake(
      { eth0: '36:4d:a6:d1:fb:e7' },
      {
        'route show': '10.9.9.0/24 dev eth0 scope link  src 10.9.9.5 \n',
        '-6 route show': 'fe80::/64 dev eth0  metric 256 \nfd00::/64 dev eth0  metric 256 \n',
      },
    );
    await net.updateRoutes([
      {
        family: 'v4',
        dest: '10.9.9.0/24',
        gateway: '',
        device: 'eth0',
        source: '10.9.9.5',
        scope: 253,
      },
      { family: 'v4', dest: '', gateway: '10.9.9.1', device: 'eth0', source: '', scope: 0 },
    ]);
    expect(calls.filter((c) => c.includes('route del') || c.includes('route add'))).toEqual([
      'route del 10.9.9.0/24 dev eth0',
      '-6 route del fd00::/64 dev eth0',
      'route add 10.9.9.0/24 dev eth0 src 10.9.9.5 scope 253',
      'route add default via 10.9.9.1 dev eth0',
    ]);
    await expect(
      net.updateRoutes([
        { family: 'v4', dest: '', gateway: '10.9.9.1', device: 'eth9', source: '', scope: 0 },
      ]),
    ).rejects.toMatchObject({ code: 'ERR_NET_NOT_FOUND' });
  });

  test('a failing ip command is ERR_NET_COMMAND naming the command', async () => {
    const sys = mkdtempSync(join(tmpdir(), 'kata-sysnet-'));
    dirs.push(sys);
    mkdirSync(join(sys, 'eth0'));
    writeFileSync(join(sys, 'eth0', 'address'), '36:4d:a6:d1:fb:e7');
    const net = new GuestNetwork({
      sysClassNet: sys,
      ip: () => Promise.reject(new Error('RTNETLINK answers: Operation not permitted')),
    });
    await expect(
      net.updateInterface({ name: 'eth0', mac: '36:4d:a6:d1:fb:e7', mtu: 0, addresses: [] }),
    ).rejects.toMatchObject({
      code: 'ERR_NET_COMMAND',
      message: expect.stringMatching(/ip link set dev eth0 down failed: .*not permitted/),
    });
  });

  test('routeAddArgs', () => {
    expect(
      routeAddArgs({
        family: 'v6',
        dest: '',
        gateway: 'fd00::1',
        device: 'eth0',
        source: '',
        scope: 0,
      }),
    ).toEqual(['-6', 'route', 'add', 'default', 'via', 'fd00::1', 'dev', 'eth0']);
  });
});
