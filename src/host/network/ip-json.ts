import { isIP } from 'node:net';
import { isPlainObject } from '#src/lib/index.js';
import { NetworkError } from './errors.js';
import type { IpFamily, PodInterface, PodIpAddress, PodRoute } from './types.js';

/** Linux interface names: 1..15 bytes; we also refuse anything but [A-Za-z0-9_.-]. */
const IFNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
/** Suffix of the taps this module creates; such links are never wired again. */
export const TAP_SUFFIX = '_kata';
/** Link kinds wired with tc redirect ('' = a plain ethernet device without linkinfo). */
export const WIRED_KINDS: readonly string[] = ['veth', ''];

const SCOPES: Readonly<Record<string, number>> = {
  global: 0,
  universe: 0,
  site: 200,
  link: 253,
  host: 254,
};

function scanError(message: string): NetworkError {
  return new NetworkError('internal', 'ERR_NET_SCAN', message);
}

/** Parses `ip -j …` output: a JSON array of objects. */
export function parseIpJsonArray(text: string, what: string): Readonly<Record<string, unknown>>[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text.trim() === '' ? '[]' : text);
  } catch (err) {
    throw new NetworkError('internal', 'ERR_NET_SCAN', `${what}: ip printed invalid JSON`, {
      cause: err,
    });
  }
  if (!Array.isArray(raw)) throw scanError(`${what}: expected a JSON array from ip`);
  return raw.filter(isPlainObject);
}

export interface SkippedLink {
  readonly name: string;
  readonly reason: string;
}

export interface ScannedLinks {
  readonly interfaces: PodInterface[];
  readonly skipped: SkippedLink[];
}

function familyOf(raw: unknown): IpFamily | undefined {
  return raw === 'inet' ? 'v4' : raw === 'inet6' ? 'v6' : undefined;
}

function addressesOf(raw: unknown): PodIpAddress[] {
  const out: PodIpAddress[] = [];
  for (const a of Array.isArray(raw) ? raw : []) {
    if (!isPlainObject(a)) continue;
    const family = familyOf(a['family']);
    const local = a['local'];
    const prefix = a['prefixlen'];
    if (family === undefined || typeof local !== 'string' || typeof prefix !== 'number') continue;
    if ((a['scope'] ?? 'global') !== 'global') continue; // link-local and host addresses stay behind
    if (isIP(local) !== (family === 'v4' ? 4 : 6)) continue;
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 'v4' ? 32 : 128)) continue;
    out.push({ family, address: local, prefixLength: prefix });
  }
  return out;
}

/**
 * The interfaces of `ip -j -d addr show` to wire into the VM: veth ends and plain ethernet
 * devices with a MAC. Loopback, our own taps and other kinds are skipped (with a reason).
 */
export function selectPodInterfaces(text: string): ScannedLinks {
  const interfaces: PodInterface[] = [];
  const skipped: SkippedLink[] = [];
  for (const l of parseIpJsonArray(text, 'ip addr')) {
    const name = l['ifname'];
    if (typeof name !== 'string') continue;
    const linkinfo = isPlainObject(l['linkinfo']) ? l['linkinfo'] : {};
    const kind = typeof linkinfo['info_kind'] === 'string' ? linkinfo['info_kind'] : '';
    const mac = typeof l['address'] === 'string' ? l['address'].toLowerCase() : '';
    const mtu = l['mtu'];
    const skip = (reason: string): void => {
      skipped.push({ name, reason });
    };
    if (l['link_type'] === 'loopback') continue;
    if (name.endsWith(TAP_SUFFIX)) skip('a kata-cc tap');
    else if (!IFNAME.test(name)) skip('name is not a plain interface name');
    else if (l['link_type'] !== 'ether') skip(`link type ${String(l['link_type'])} is not ether`);
    else if (!WIRED_KINDS.includes(kind)) skip(`link kind ${kind} is not supported`);
    else if (!MAC.test(mac)) skip('no usable MAC address');
    else if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 68 || mtu > 65535)
      skip(`mtu ${String(mtu)} is out of range`);
    else interfaces.push({ name, mac, mtu, kind, addresses: addressesOf(l['addr_info']) });
  }
  return { interfaces, skipped };
}

function scopeOf(raw: unknown): number {
  if (raw === undefined) return 0;
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 && raw <= 255) return raw;
  if (typeof raw === 'string') {
    const named = SCOPES[raw];
    if (named !== undefined) return named;
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 0 && n <= 255) return n;
  }
  return -1;
}

function destOf(raw: unknown, family: IpFamily): string | undefined {
  if (raw === 'default') return '';
  if (typeof raw !== 'string') return undefined;
  const [addr = '', prefix] = raw.split('/');
  if (isIP(addr) !== (family === 'v4' ? 4 : 6)) return undefined;
  const max = family === 'v4' ? 32 : 128;
  const p = prefix === undefined ? max : Number(prefix);
  if (!Number.isInteger(p) || p < 0 || p > max) return undefined;
  if (family === 'v6' && /^fe80:/i.test(addr)) return undefined; // the guest kernel makes its own
  return `${addr}/${String(p)}`;
}

/**
 * Unicast routes of `ip -j [-6] route show table main` through one of `devices`: routes without
 * a gateway first (ip lists the default route first, but its gateway must be reachable when the
 * guest adds it), otherwise in ip's order.
 */
export function parseIpRoutes(
  text: string,
  family: IpFamily,
  devices: ReadonlySet<string>,
): PodRoute[] {
  const out: PodRoute[] = [];
  const ipVersion = family === 'v4' ? 4 : 6;
  for (const r of parseIpJsonArray(text, 'ip route')) {
    const dev = r['dev'];
    if (typeof dev !== 'string' || !devices.has(dev)) continue;
    if (r['type'] !== undefined && r['type'] !== 'unicast') continue;
    const dest = destOf(r['dst'], family);
    const gateway = typeof r['gateway'] === 'string' ? r['gateway'] : '';
    const source = typeof r['prefsrc'] === 'string' ? r['prefsrc'] : '';
    const scope = scopeOf(r['scope']);
    if (dest === undefined || scope < 0) continue;
    if (gateway !== '' && isIP(gateway) !== ipVersion) continue;
    if (source !== '' && isIP(source) !== ipVersion) continue;
    out.push({ family, dest, gateway, device: dev, source, scope });
  }
  return [...out.filter((r) => r.gateway === ''), ...out.filter((r) => r.gateway !== '')];
}
