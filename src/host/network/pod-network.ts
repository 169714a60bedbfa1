import { existsSync } from 'node:fs';
import { describeError, NULL_LOGGER, type Logger } from '#src/lib/index.js';
import { NetworkError } from './errors.js';
import { parseIpRoutes, selectPodInterfaces, TAP_SUFFIX } from './ip-json.js';
import { nsenterCommand, type NetnsCommand } from './netns.js';
import type { PodEndpoint, PodInterface, PodRoute } from './types.js';

/** Most interfaces one pod VM gets. */
export const MAX_POD_INTERFACES = 8;

export interface PodNetworkOptions {
  readonly netnsPath: string;
  /** Runs a command in the netns (default: nsenter). Tests inject a fake. */
  readonly run?: NetnsCommand | undefined;
  readonly logger?: Logger | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** The tc commands that redirect every frame arriving on `from` out of `to`. */
export function redirectCommands(from: string, to: string): string[][] {
  return [
    ['tc', 'qdisc', 'add', 'dev', from, 'handle', 'ffff:', 'ingress'],
    [
      'tc',
      'filter',
      'add',
      'dev',
      from,
      'parent',
      'ffff:',
      'protocol',
      'all',
      'u32',
      'match',
      'u8',
      '0',
      '0',
      'action',
      'mirred',
      'egress',
      'redirect',
      'dev',
      to,
    ],
  ];
}

/** Commands wiring `iface` to a new tap: tap with the same MTU, tc ingress redirect both ways. */
export function wireCommands(iface: PodInterface, tapName: string): string[][] {
  return [
    ['ip', 'tuntap', 'add', 'dev', tapName, 'mode', 'tap'],
    ['ip', 'link', 'set', 'dev', tapName, 'mtu', String(iface.mtu)],
    ['ip', 'link', 'set', 'dev', tapName, 'up'],
    ...redirectCommands(iface.name, tapName),
    ...redirectCommands(tapName, iface.name),
  ];
}

/** Commands undoing wireCommands (each may fail when the object is already gone). */
export function unwireCommands(e: Pick<PodEndpoint, 'name' | 'tapName'>): string[][] {
  return [
    ['tc', 'qdisc', 'del', 'dev', e.name, 'ingress'],
    ['ip', 'link', 'del', 'dev', e.tapName],
  ];
}

/**
 * Kata's "tcfilter" networking for one pod: every veth CNI put into the pod netns gets a tap
 * (`tap<i>_kata`) in the same netns and tc ingress `mirred egress redirect` rules both ways, so
 * the guest NIC (virtio-net on the tap, with the veth's MAC) owns the pod's address. QEMU must
 * run inside the netns to open the taps. The addresses and routes found are what the shim sends
 * the agent (UpdateInterface / UpdateRoutes).
 */
export class PodNetwork {
  readonly netnsPath: string;
  readonly endpoints: readonly PodEndpoint[];
  readonly routes: readonly PodRoute[];
  readonly #run: NetnsCommand;
  readonly #log: Logger;
  #down: Promise<void> | undefined;

  private constructor(
    netnsPath: string,
    endpoints: readonly PodEndpoint[],
    routes: readonly PodRoute[],
    run: NetnsCommand,
    log: Logger,
  ) {
    this.netnsPath = netnsPath;
    this.endpoints = endpoints;
    this.routes = routes;
    this.#run = run;
    this.#log = log;
  }

  /** Scans the netns and wires every usable interface; on failure nothing stays wired. */
  static async setup(o: PodNetworkOptions): Promise<PodNetwork> {
    const run = o.run ?? nsenterCommand(o.netnsPath);
    const log = (o.logger ?? NULL_LOGGER).child({ subsystem: 'network' });
    const { interfaces, routes } = await scanNetns(run, log, o.signal);
    const endpoints: PodEndpoint[] = interfaces.map((iface, i) => ({
      ...iface,
      tapName: `tap${String(i)}${TAP_SUFFIX}`,
      netdevId: `net${String(i)}`,
    }));
    const net = new PodNetwork(o.netnsPath, endpoints, routes, run, log);
    const wired: PodEndpoint[] = [];
    try {
      for (const e of endpoints) {
        wired.push(e);
        for (const argv of wireCommands(e, e.tapName)) await run(argv, o.signal);
      }
    } catch (err) {
      await net.#unwire(wired);
      throw new NetworkError(
        'internal',
        'ERR_NET_SETUP',
        `cannot wire the pod network in ${o.netnsPath}: ${describeError(err)}`,
        { cause: err },
      );
    }
    log.info('pod network wired', {
      netns: o.netnsPath,
      interfaces: endpoints.map((e) => `${e.name}→${e.tapName}`),
      routes: routes.length,
    });
    return net;
  }

  /** Removes the taps and tc rules (nothing to do once the netns is gone). Idempotent, never throws. */
  teardown(): Promise<void> {
    this.#down ??= this.#unwire(this.endpoints);
    return this.#down;
  }

  async #unwire(endpoints: readonly PodEndpoint[]): Promise<void> {
    if (!existsSync(this.netnsPath)) return;
    for (const e of endpoints) {
      for (const argv of unwireCommands(e)) {
        await this.#run(argv).catch((err: unknown) => {
          this.#log.debug('network cleanup step failed', {
            cmd: argv.join(' '),
            err: describeError(err),
          });
        });
      }
    }
  }
}

async function scanNetns(
  run: NetnsCommand,
  log: Logger,
  signal?: AbortSignal,
): Promise<{ interfaces: PodInterface[]; routes: PodRoute[] }> {
  let links;
  try {
    links = selectPodInterfaces(await run(['ip', '-j', '-d', 'addr', 'show'], signal));
  } catch (err) {
    if (err instanceof NetworkError) throw err;
    throw new NetworkError(
      'internal',
      'ERR_NET_SCAN',
      `cannot list the pod netns interfaces: ${describeError(err)}`,
      { cause: err },
    );
  }
  for (const s of links.skipped)
    log.info('interface not wired', { name: s.name, reason: s.reason });
  if (links.interfaces.length > MAX_POD_INTERFACES)
    throw new NetworkError(
      'failed_precondition',
      'ERR_NET_UNSUPPORTED',
      `the pod netns has ${String(links.interfaces.length)} interfaces; at most ${String(MAX_POD_INTERFACES)} are supported`,
    );
  const devices = new Set(links.interfaces.map((i) => i.name));
  const routes: PodRoute[] = [];
  if (devices.size > 0) {
    routes.push(
      ...parseIpRoutes(
        await run(['ip', '-j', 'route', 'show', 'table', 'main'], signal),
        'v4',
        devices,
      ),
    );
    const hasV6 = links.interfaces.some((i) => i.addresses.some((a) => a.family === 'v6'));
    if (hasV6)
      routes.push(
        ...parseIpRoutes(
          await run(['ip', '-j', '-6', 'route', 'show', 'table', 'main'], signal),
          'v6',
          devices,
        ),
      );
  }
  return { interfaces: links.interfaces, routes };
}
