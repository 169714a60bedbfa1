import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { CcError, runProgram } from '#src/lib/index.js';

/** The demo's pod network: a bridge made up front so host services can bind its gateway address. */
export interface DemoNetwork {
  /** e.g. `kccd3f9a` */
  readonly bridge: string;
  /** e.g. `10.254.77.0/24` */
  readonly subnet: string;
  /** The bridge's own address, the pods' default gateway: the host as seen from a pod. */
  readonly gateway: string;
  /** The CNI conflist (bridge plugin, isGateway, no masquerade) with its IPAM state below `dir`. */
  conflist(dir: string): string;
  /** Deletes the bridge (idempotent, never throws). */
  remove(): Promise<void>;
}

/** Creates bridge `kccd<4 hex>` holding `10.254.<n>.1/24` (no iptables, no NAT: host-only). */
export async function createDemoNetwork(signal?: AbortSignal): Promise<DemoNetwork> {
  const bridge = `kccd${randomBytes(2).toString('hex')}`;
  const third = randomInt(1, 250);
  const subnet = `10.254.${String(third)}.0/24`;
  const gateway = `10.254.${String(third)}.1`;
  let made = false;
  const remove = async (): Promise<void> => {
    if (!made) return;
    made = false;
    await runProgram(['ip', 'link', 'del', bridge]).catch(() => undefined);
  };
  try {
    await runProgram(['ip', 'link', 'add', bridge, 'type', 'bridge'], { signal });
    made = true;
    await runProgram(['ip', 'addr', 'add', `${gateway}/24`, 'dev', bridge], { signal });
    await runProgram(['ip', 'link', 'set', bridge, 'up'], { signal });
  } catch (err) {
    await remove();
    throw new CcError(
      'failed_precondition',
      'ERR_DEMO_NETWORK',
      `cannot create the demo's pod bridge ${bridge} (${subnet}): ${err instanceof Error ? err.message : String(err)} (the demo needs root and iproute2)`,
    );
  }
  return {
    bridge,
    subnet,
    gateway,
    conflist: (dir) =>
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'kata-cc-demo',
        plugins: [
          {
            type: 'bridge',
            bridge,
            isGateway: true,
            isDefaultGateway: true,
            ipMasq: false,
            ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: join(dir, 'cni-ipam') },
          },
          { type: 'loopback' },
        ],
      }),
    remove,
  };
}
