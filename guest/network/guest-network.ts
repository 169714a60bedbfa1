import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, NULL_LOGGER, runProgram, type Logger } from '#src/lib/index.js';
import { GuestNetworkError } from './errors.js';
import { parseIpAddrOneline, parseIpRoutes } from './ip-output.js';
import type { InterfaceUpdate, NetInterface, NetRoute } from './types.js';

/** Runs `ip <args…>` and returns its stdout. */
export type IpRunner = (args: readonly string[], signal?: AbortSignal) => Promise<string>;

/** The busybox `ip` applet of the guest image. */
export function busyboxIp(busybox = '/usr/bin/busybox'): IpRunner {
  return async (args, signal) => (await runProgram([busybox, 'ip', ...args], { signal })).stdout;
}

export interface GuestNetworkOptions {
  readonly ip?: IpRunner | undefined;
  /** `/sys/class/net` (tests pass a fake tree). */
  readonly sysClassNet?: string | undefined;
  /** How long UpdateInterface waits for the NIC with the MAC to appear (default 5 s). */
  readonly deviceTimeoutMs?: number | undefined;
  readonly log?: Logger | undefined;
}

async function readTrim(path: string): Promise<string> {
  return (await readFile(path, 'utf8')).trim();
}

function isKernelV6Route(r: NetRoute): boolean {
  return r.family === 'v6' && /^fe80:/i.test(r.dest);
}

/**
 * The guest's network: NICs found by MAC in sysfs, configured with busybox `ip`. Only the VM's
 * own (root) network namespace is touched — containers share it, as in Kata.
 */
export class GuestNetwork {
  readonly #ip: IpRunner;
  readonly #sys: string;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(o: GuestNetworkOptions = {}) {
    this.#ip = o.ip ?? busyboxIp();
    this.#sys = o.sysClassNet ?? '/sys/class/net';
    this.#timeoutMs = o.deviceTimeoutMs ?? 5000;
    this.#log = o.log ?? NULL_LOGGER;
  }

  /** Changes run one at a time (two UpdateInterface calls must not interleave their ip steps). */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #run(args: readonly string[], signal?: AbortSignal): Promise<string> {
    try {
      return await this.#ip(args, signal);
    } catch (err) {
      throw new GuestNetworkError(
        'internal',
        'ERR_NET_COMMAND',
        `ip ${args.join(' ')} failed: ${describeError(err)}`,
        { cause: err },
      );
    }
  }

  /** Name → MAC of every link but loopback. */
  async #links(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const name of await readdir(this.#sys).catch(() => [])) {
      if (name === 'lo') continue;
      const mac = await readTrim(join(this.#sys, name, 'address')).catch(() => '');
      if (mac !== '') out.set(name, mac.toLowerCase());
    }
    return out;
  }

  async #findByMac(mac: string, signal?: AbortSignal): Promise<string> {
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      for (const [name, m] of await this.#links()) if (m === mac) return name;
      if (Date.now() >= deadline || signal?.aborted === true)
        throw new GuestNetworkError(
          'not_found',
          'ERR_NET_NOT_FOUND',
          `no network interface with MAC ${mac} in the guest (is virtio_net loaded and the NIC plugged?)`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** UpdateInterface: renames the NIC with `u.mac`, sets the MTU, replaces its addresses, brings it up. */
  updateInterface(u: InterfaceUpdate, signal?: AbortSignal): Promise<InterfaceUpdate> {
    return this.#serial(async () => {
      const current = await this.#findByMac(u.mac, signal);
      const links = await this.#links();
      if (current !== u.name && links.has(u.name))
        throw new GuestNetworkError(
          'invalid_argument',
          'ERR_NET_INVALID',
          `interface.name: ${u.name} is already the name of another interface (MAC ${links.get(u.name) ?? '?'})`,
        );
      await this.#run(['link', 'set', 'dev', current, 'down'], signal);
      if (current !== u.name)
        await this.#run(['link', 'set', 'dev', current, 'name', u.name], signal);
      if (u.mtu > 0) await this.#run(['link', 'set', 'dev', u.name, 'mtu', String(u.mtu)], signal);
      await this.#run(['addr', 'flush', 'dev', u.name], signal);
      for (const a of u.addresses)
        await this.#run(
          ['addr', 'add', `${a.address}/${String(a.prefixLength)}`, 'dev', u.name],
          signal,
        );
      await this.#run(['link', 'set', 'dev', u.name, 'up'], signal);
      this.#log.info('interface updated', {
        name: u.name,
        mac: u.mac,
        mtu: u.mtu,
        addresses: u.addresses.length,
      });
      // answer from what was applied (listing again costs another ip spawn, slow under TCG)
      const mtu = Number(await readTrim(join(this.#sys, u.name, 'mtu')).catch(() => String(u.mtu)));
      return { ...u, mtu: Number.isInteger(mtu) ? mtu : u.mtu };
    });
  }

  /**
   * UpdateRoutes: for every device named, removes its routes (IPv6 link-local ones stay, the
   * kernel owns them) and adds the given ones in order. Answers the routes applied.
   */
  updateRoutes(routes: readonly NetRoute[], signal?: AbortSignal): Promise<NetRoute[]> {
    return this.#serial(async () => {
      const links = await this.#links();
      for (const r of routes)
        if (!links.has(r.device))
          throw new GuestNetworkError(
            'not_found',
            'ERR_NET_NOT_FOUND',
            `route device ${r.device} does not exist in the guest (send UpdateInterface first)`,
          );
      const devices = new Set(routes.map((r) => r.device));
      for (const old of await this.listRoutes()) {
        if (!devices.has(old.device) || isKernelV6Route(old)) continue;
        await this.#run(
          [
            ...(old.family === 'v6' ? ['-6'] : []),
            'route',
            'del',
            old.dest === '' ? 'default' : old.dest,
            'dev',
            old.device,
          ],
          signal,
        );
      }
      for (const r of routes) await this.#run(routeAddArgs(r), signal);
      this.#log.info('routes updated', { routes: routes.length, devices: [...devices] });
      return [...routes];
    });
  }

  /** ListInterfaces: every link but loopback, with its global and link-local addresses. */
  async listInterfaces(): Promise<NetInterface[]> {
    const addrs = parseIpAddrOneline(await this.#run(['-o', 'addr', 'show']));
    const out: NetInterface[] = [];
    for (const [name, mac] of await this.#links()) {
      const mtu = Number(await readTrim(join(this.#sys, name, 'mtu')).catch(() => '0'));
      out.push({
        name,
        mac,
        mtu: Number.isInteger(mtu) ? mtu : 0,
        addresses: addrs.get(name) ?? [],
      });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** ListRoutes: the IPv4 and IPv6 unicast routes of the main table. */
  async listRoutes(): Promise<NetRoute[]> {
    const v4 = parseIpRoutes(await this.#run(['route', 'show']), 'v4');
    const v6text = await this.#ip(['-6', 'route', 'show']).catch(() => ''); // IPv6 may be disabled
    return [...v4, ...parseIpRoutes(v6text, 'v6')];
  }
}

/** `ip [-6] route add <dest|default> [via gw] dev d [src s] [scope n]`. */
export function routeAddArgs(r: NetRoute): string[] {
  return [
    ...(r.family === 'v6' ? ['-6'] : []),
    'route',
    'add',
    r.dest === '' ? 'default' : r.dest,
    ...(r.gateway === '' ? [] : ['via', r.gateway]),
    'dev',
    r.device,
    ...(r.source === '' ? [] : ['src', r.source]),
    ...(r.scope === 0 ? [] : ['scope', String(r.scope)]),
  ];
}
