import type { Logger } from '#src/lib/index.js';
import type { AgentClient, CallOpts } from '#src/host/agent/index.js';
import type { VmSpec } from '#src/host/hypervisor/index.js';
import { networkNamespaceOf, PodNetwork } from '#src/host/network/index.js';
import type { BackendContainer } from './sandbox-backend.js';

/**
 * Wires the pod netns of the first container (the CRI sandbox) to taps, or undefined when its
 * spec names no network namespace (a plain `ctr run`: the VM gets no NIC).
 */
export async function preparePodNetwork(
  first: BackendContainer,
  log: Logger,
  signal?: AbortSignal,
): Promise<PodNetwork | undefined> {
  const netnsPath = networkNamespaceOf(first.ociSpec);
  if (netnsPath === undefined) return undefined;
  return PodNetwork.setup({ netnsPath, logger: log, signal });
}

/** The VmSpec fields of a pod network: cold-plugged NICs (also for confidential guests) and the netns. */
export function vmNetworkFields(
  net: PodNetwork | undefined,
): Pick<VmSpec, 'netDevices' | 'networkNamespace'> {
  if (net === undefined) return {};
  return {
    networkNamespace: net.netnsPath,
    netDevices: net.endpoints.map((e) => ({ id: e.netdevId, tapName: e.tapName, mac: e.mac })),
  };
}

/**
 * Deadline of each network RPC: the guest runs several `ip` commands per call, which on a loaded
 * TCG host take seconds each; this is boot path, like CreateContainer.
 */
export const GUEST_NETWORK_TIMEOUT_MS = 120_000;

/** After the agent is up: UpdateInterface per NIC, then UpdateRoutes with the netns routes. */
export async function configureGuestNetwork(
  agent: AgentClient,
  net: PodNetwork | undefined,
  o: CallOpts,
): Promise<void> {
  if (net === undefined || net.endpoints.length === 0) return;
  const opts: CallOpts = { timeoutMs: GUEST_NETWORK_TIMEOUT_MS, ...o };
  for (const e of net.endpoints) await agent.updateInterface(e, opts);
  if (net.routes.length > 0) await agent.updateRoutes(net.routes, opts);
}
