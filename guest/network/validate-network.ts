import { isIP } from 'node:net';
import { invalidNet } from './errors.js';
import type {
  InterfaceUpdate,
  IpFamily,
  NetAddress,
  NetRoute,
  RawInterface,
  RawIpAddress,
  RawRoute,
} from './types.js';

/** Bounds on what the (untrusted) host may send. */
export const NET_LIMITS = {
  addresses: 32,
  routes: 256,
  minMtu: 68,
  minMtuV6: 1280,
  maxMtu: 65535,
  text: 64,
} as const;

const IFNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** 1..15 of [A-Za-z0-9_.-], not starting with '.' or '-', not `lo` (no slashes, spaces, colons). */
export function checkInterfaceName(v: unknown, at: string): string {
  if (typeof v !== 'string' || !IFNAME.test(v) || v === 'lo')
    throw invalidNet(
      `${at}: ${show(v)} is not a valid interface name (1-15 of [A-Za-z0-9_.-], not starting with . or -, not lo)`,
    );
  return v;
}

/** A unicast, non-zero MAC; returned lower-case. */
export function checkMac(v: unknown, at: string): string {
  if (typeof v !== 'string' || !MAC.test(v))
    throw invalidNet(`${at}: ${show(v)} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  const mac = v.toLowerCase();
  if ((Number.parseInt(mac.slice(0, 2), 16) & 1) === 1 || mac === '00:00:00:00:00:00')
    throw invalidNet(`${at}: ${mac} is not a unicast address`);
  return mac;
}

export function checkFamily(v: unknown, at: string): IpFamily {
  if (v === 0) return 'v4';
  if (v === 1) return 'v6';
  throw invalidNet(`${at}: ${show(v)} is not an address family (0 = v4, 1 = v6)`);
}

/** An IP address of `family` (no zone index, no brackets). */
export function checkIp(v: unknown, family: IpFamily, at: string): string {
  if (typeof v !== 'string' || v.length > NET_LIMITS.text || isIP(v) !== (family === 'v4' ? 4 : 6))
    throw invalidNet(`${at}: ${show(v)} is not an IP${family} address`);
  return v;
}

function checkPrefix(v: unknown, family: IpFamily, at: string): number {
  const max = family === 'v4' ? 32 : 128;
  const n = typeof v === 'string' && /^\d{1,3}$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n > max)
    throw invalidNet(`${at}: ${show(v)} is not a prefix length 0..${String(max)}`);
  return n;
}

function ipToBigInt(ip: string, family: IpFamily): bigint {
  if (family === 'v4') return ip.split('.').reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
  const [head = '', tail = ''] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = ip.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const last = (t.length > 0 ? t : h).at(-1) ?? '';
  const v4tail = last.includes('.') ? last : undefined;
  const groups = [
    ...h,
    ...Array<string>(8 - h.length - t.length - (v4tail ? 1 : 0)).fill('0'),
    ...t,
  ];
  if (v4tail !== undefined) groups.pop();
  let out = groups.reduce((acc, g) => (acc << 16n) | BigInt(`0x${g === '' ? '0' : g}`), 0n);
  if (v4tail !== undefined) out = (out << 32n) | ipToBigInt(v4tail, 'v4');
  return out;
}

/** A CIDR `addr/prefix` of `family` whose host bits are zero (what `ip route` accepts). */
export function checkCidr(v: unknown, family: IpFamily, at: string): string {
  if (typeof v !== 'string' || v.length > NET_LIMITS.text || !v.includes('/'))
    throw invalidNet(`${at}: ${show(v)} is not a CIDR (address/prefix)`);
  const slash = v.indexOf('/');
  const addr = checkIp(v.slice(0, slash), family, at);
  const prefix = checkPrefix(v.slice(slash + 1), family, at);
  const bits = family === 'v4' ? 32n : 128n;
  const hostMask = (1n << (bits - BigInt(prefix))) - 1n;
  if ((ipToBigInt(addr, family) & hostMask) !== 0n)
    throw invalidNet(`${at}: ${v} has host bits set (not a network address)`);
  return `${addr}/${String(prefix)}`;
}

function checkAddress(a: RawIpAddress, at: string): NetAddress {
  const family = checkFamily(a.family, `${at}.family`);
  return {
    family,
    address: checkIp(a.address, family, `${at}.address`),
    prefixLength: checkPrefix(a.mask, family, `${at}.mask`),
  };
}

function checkShortText(v: unknown, at: string): void {
  if (typeof v !== 'string' || v.length > NET_LIMITS.text || /[\0\n]/.test(v))
    throw invalidNet(`${at}: expected a string of at most ${String(NET_LIMITS.text)} characters`);
}

/** Validates a host `types.Interface`; the NIC is found by `hwAddr`, renamed to `name`. */
export function parseInterfaceUpdate(
  raw: RawInterface | undefined,
  at = 'interface',
): InterfaceUpdate {
  if (raw === undefined) throw invalidNet(`${at}: missing`);
  const name = checkInterfaceName(raw.name, `${at}.name`);
  if (raw.device !== '') checkInterfaceName(raw.device, `${at}.device`);
  const mac = checkMac(raw.hwAddr, `${at}.hwAddr`);
  checkShortText(raw.pciPath, `${at}.pciPath`);
  checkShortText(raw.type, `${at}.type`);
  const list: readonly RawIpAddress[] = raw.IPAddresses;
  if (list.length > NET_LIMITS.addresses)
    throw invalidNet(`${at}.IPAddresses: at most ${String(NET_LIMITS.addresses)} addresses`);
  const addresses = list.map((a, i) => checkAddress(a, `${at}.IPAddresses[${String(i)}]`));
  const mtu = raw.mtu;
  const minMtu = addresses.some((a) => a.family === 'v6') ? NET_LIMITS.minMtuV6 : NET_LIMITS.minMtu;
  if (!Number.isInteger(mtu) || (mtu !== 0 && (mtu < minMtu || mtu > NET_LIMITS.maxMtu)))
    throw invalidNet(
      `${at}.mtu: ${show(mtu)} is out of range (0 = keep, else ${String(minMtu)}..${String(NET_LIMITS.maxMtu)})`,
    );
  const seen = new Set<string>();
  const unique = addresses.filter((a) => {
    const k = `${a.address}/${String(a.prefixLength)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { name, mac, mtu, addresses: unique };
}

function checkRoute(r: RawRoute, at: string): NetRoute {
  const family = checkFamily(r.family, `${at}.family`);
  const dest = r.dest === '' || r.dest === 'default' ? '' : checkCidr(r.dest, family, `${at}.dest`);
  const gateway = r.gateway === '' ? '' : checkIp(r.gateway, family, `${at}.gateway`);
  const source = r.source === '' ? '' : checkIp(r.source, family, `${at}.source`);
  const device = checkInterfaceName(r.device, `${at}.device`);
  if (!Number.isInteger(r.scope) || r.scope < 0 || r.scope > 255)
    throw invalidNet(`${at}.scope: ${show(r.scope)} is not a scope 0..255`);
  return { family, dest, gateway, device, source, scope: r.scope };
}

/** Validates host routes; returned with gateway-less routes first (a gateway must be reachable). */
export function parseRoutes(raw: readonly RawRoute[] | undefined, at = 'routes'): NetRoute[] {
  const list = raw ?? [];
  if (list.length > NET_LIMITS.routes)
    throw invalidNet(`${at}: ${String(list.length)} routes; at most ${String(NET_LIMITS.routes)}`);
  const routes = list.map((r, i) => checkRoute(r, `${at}[${String(i)}]`));
  return [...routes.filter((r) => r.gateway === ''), ...routes.filter((r) => r.gateway !== '')];
}
