import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  networkNamespaceOf,
  PodNetwork,
  wireCommands,
  type NetnsCommand,
} from '#src/host/network/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function fakeNetns(): string {
  const d = mkdtempSync(join(tmpdir(), 'kata-netns-'));
  dirs.push(d);
  const p = join(d, 'cni-test');
  writeFileSync(p, '');
  return p;
}

const ADDR = JSON.stringify([
  { ifname: 'lo', link_type: 'loopback', address: '00:00:00:00:00:00', mtu: 65536 },
  {
    ifname: 'eth0',
    link_type: 'ether',
    address: '36:4d:a6:d1:fb:e7',
    mtu: 1400,
    linkinfo: { info_kind: 'veth' },
    addr_info: [{ family: 'inet', local: '10.9.9.5', prefixlen: 24, scope: 'global' }],
  },
]);
const ROUTES = JSON.stringify([
  { dst: 'default', gateway: '10.9.9.1', dev: 'eth0' },
  { dst: '10.9.9.0/24', dev: 'eth0', scope: 'link', prefsrc: '10.9.9.5' },
]);

function recorder(failOn?: RegExp): { run: NetnsCommand; calls: string[] } {
  const calls: string[] = [];
  const run: NetnsCommand = (argv) => {
    const line = argv.join(' ');
    calls.push(line);
    if (failOn?.test(line) === true) return Promise.reject(new Error(`boom: ${line}`));
    if (line === 'ip -j -d addr show') return Promise.resolve(ADDR);
    if (line.startsWith('ip -j route')) return Promise.resolve(ROUTES);
    return Promise.resolve('');
  };
  return { run, calls };
}

describe('networkNamespaceOf', () => {
  test('finds the CRI netns path; none for a spec without one', () => {
    const p = fakeNetns();
    expect(
      networkNamespaceOf({
        linux: { namespaces: [{ type: 'pid' }, { type: 'network', path: p }] },
      }),
    ).toBe(p);
    expect(networkNamespaceOf({ linux: { namespaces: [{ type: 'network' }] } })).toBeUndefined();
    expect(networkNamespaceOf({ process: {} })).toBeUndefined();
  });

  test.each([['relative/path'], ['/var/run/netns/../../etc/passwd'], ['/a\0b'], [42]])(
    'rejects the hostile path %j',
    (path) => {
      expect(() =>
        networkNamespaceOf({ linux: { namespaces: [{ type: 'network', path }] } }),
      ).toThrow(expect.objectContaining({ code: 'ERR_NET_NAMESPACE', kind: 'invalid_argument' }));
    },
  );

  test('a missing netns is failed_precondition naming the path', () => {
    expect(() =>
      networkNamespaceOf({
        linux: { namespaces: [{ type: 'network', path: '/nonexistent/netns/x' }] },
      }),
    ).toThrow(/\/nonexistent\/netns\/x does not exist/);
  });
});

describe('PodNetwork', () => {
  test('creates a tap with the veth MTU and tc redirects both ways, and reports addresses and routes', async () => {
    const { run, calls } = recorder();
    const net = await PodNetwork.setup({ netnsPath: fakeNetns(), run });
    expect(net.endpoints).toEqual([
      expect.objectContaining({
        name: 'eth0',
        tapName: 'tap0_kata',
        netdevId: 'net0',
        mac: '36:4d:a6:d1:fb:e7',
        mtu: 1400,
      }),
    ]);
    expect(net.routes.map((r) => r.dest)).toEqual(['10.9.9.0/24', '']);
    expect(calls).toEqual([
      'ip -j -d addr show',
      'ip -j route show table main',
      ...wireCommands(net.endpoints[0]!, 'tap0_kata').map((a) => a.join(' ')),
    ]);
    expect(calls).toContain(
      'tc filter add dev eth0 parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev tap0_kata',
    );
    expect(calls).toContain(
      'tc filter add dev tap0_kata parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev eth0',
    );
    expect(calls).toContain('ip link set dev tap0_kata mtu 1400');
    calls.length = 0;
    await net.teardown();
    await net.teardown();
    expect(calls).toEqual(['tc qdisc del dev eth0 ingress', 'ip link del dev tap0_kata']);
  });

  test('a failing step unwires what was made and reports ERR_NET_SETUP', async () => {
    const { run, calls } = recorder(/redirect dev eth0/);
    await expect(PodNetwork.setup({ netnsPath: fakeNetns(), run })).rejects.toMatchObject({
      code: 'ERR_NET_SETUP',
      message: expect.stringMatching(/cannot wire the pod network/),
    });
    expect(calls.slice(-2)).toEqual(['tc qdisc del dev eth0 ingress', 'ip link del dev tap0_kata']);
  });

  test('teardown does nothing once the netns is gone', async () => {
    const { run, calls } = recorder();
    const ns = fakeNetns();
    const net = await PodNetwork.setup({ netnsPath: ns, run });
    rmSync(ns);
    calls.length = 0;
    await net.teardown();
    expect(calls).toEqual([]);
  });
});
