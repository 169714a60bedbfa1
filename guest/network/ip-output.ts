import { isIP } from 'node:net';
import type { NetAddress, NetRoute, IpFamily } from './types.js';

/**
 * Parses busybox `ip -o addr show`: one line per address,
 * `3: eth0    inet 10.9.9.5/24 scope global eth0\ …`. Returns addresses per interface name.
 */
export function parseIpAddrOneline(text: string): Map<string, NetAddress[]> {
  const out = new Map<string, NetAddress[]>();
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+([^\s@:]+)\s+(inet6?)\s+([0-9a-fA-F.:]+)\/(\d{1,3})\b/.exec(line);
    if (!m) continue;
    const [, name = '', fam, address = '', prefix = ''] = m;
    const family: IpFamily = fam === 'inet' ? 'v4' : 'v6';
    if (isIP(address) !== (family === 'v4' ? 4 : 6)) continue;
    const list = out.get(name) ?? [];
    list.push({ family, address, prefixLength: Number(prefix) });
    out.set(name, list);
  }
  return out;
}

const ROUTE_TYPES = new Set([
  'unicast',
  'local',
  'broadcast',
  'multicast',
  'throw',
  'unreachable',
  'prohibit',
  'blackhole',
  'nat',
  'anycast',
]);
const SCOPE_NAMES: Readonly<Record<string, number>> = {
  global: 0,
  universe: 0,
  site: 200,
  link: 253,
  host: 254,
};

/** Parses busybox `ip [-6] route show`: unicast routes only (`default via … dev …`, `net/len dev … scope link src …`). */
export function parseIpRoutes(text: string, family: IpFamily): NetRoute[] {
  const out: NetRoute[] = [];
  for (const line of text.split('\n')) {
    const words = line
      .trim()
      .split(/\s+/)
      .filter((w) => w !== '');
    let first = words[0];
    if (first === undefined) continue;
    if (ROUTE_TYPES.has(first)) {
      if (first !== 'unicast') continue;
      words.shift();
      first = words[0] ?? '';
    }
    const kv = new Map<string, string>();
    for (let i = 1; i + 1 < words.length; i++) {
      const k = words[i] ?? '';
      if (['via', 'dev', 'src', 'scope', 'proto', 'metric', 'table'].includes(k)) {
        kv.set(k, words[i + 1] ?? '');
        i++;
      }
    }
    const device = kv.get('dev');
    if (device === undefined) continue;
    let dest = first === 'default' ? '' : first;
    if (dest !== '' && !dest.includes('/')) dest = `${dest}/${family === 'v4' ? '32' : '128'}`;
    const scopeText = kv.get('scope');
    const scope =
      scopeText === undefined
        ? 0
        : (SCOPE_NAMES[scopeText] ?? (/^\d+$/.test(scopeText) ? Number(scopeText) : 0));
    out.push({
      family,
      dest,
      gateway: kv.get('via') ?? '',
      device,
      source: kv.get('src') ?? '',
      scope,
    });
  }
  return out;
}
