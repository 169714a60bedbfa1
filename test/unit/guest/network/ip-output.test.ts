import { describe, expect, test } from 'vitest';
import { parseIpAddrOneline, parseIpRoutes } from '#guest/network/index.js';

describe('busybox ip output parsers', () => {
  test('ip -o addr show: addresses per interface', () => {
    const text = [
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
      '3: eth0    inet 10.9.9.5/24 scope global eth0\\       valid_lft forever preferred_lft forever',
      '3: eth0    inet6 fe80::480f:50ff:fee1:8b1f/64 scope link tentative \\       valid_lft forever',
      'garbage line',
    ].join('\n');
    const m = parseIpAddrOneline(text);
    expect(m.get('eth0')).toEqual([
      { family: 'v4', address: '10.9.9.5', prefixLength: 24 },
      { family: 'v6', address: 'fe80::480f:50ff:fee1:8b1f', prefixLength: 64 },
    ]);
    expect(m.get('lo')).toHaveLength(1);
  });

  test('ip route show: unicast routes with gateway, source and scope', () => {
    const v4 =
      'default via 10.9.9.1 dev eth0 \n10.9.9.0/24 dev eth0 scope link  src 10.9.9.5 \nbroadcast 10.9.9.255 dev eth0\n10.1.1.1 dev eth0 scope 253\n';
    expect(parseIpRoutes(v4, 'v4')).toEqual([
      { family: 'v4', dest: '', gateway: '10.9.9.1', device: 'eth0', source: '', scope: 0 },
      {
        family: 'v4',
        dest: '10.9.9.0/24',
        gateway: '',
        device: 'eth0',
        source: '10.9.9.5',
        scope: 253,
      },
      { family: 'v4', dest: '10.1.1.1/32', gateway: '', device: 'eth0', source: '', scope: 253 },
    ]);
    const v6 =
      'fd00::/64 dev eth0  metric 256 \nmulticast ff00::/8 dev eth0  metric 256 \ndefault via fd00::1 dev eth0  metric 1024 \n';
    expect(parseIpRoutes(v6, 'v6').map((r) => r.dest)).toEqual(['fd00::/64', '']);
  });
});
