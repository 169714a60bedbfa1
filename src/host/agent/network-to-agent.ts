import {
  IPFamily,
  type Interface as AgentInterface,
  type Route as AgentRoute,
} from '#src/protocol/agent/index.js';

/** A guest NIC as the shim configures it (matched by MAC in the guest). */
export interface GuestInterfaceUpdate {
  readonly name: string;
  readonly mac: string;
  readonly mtu: number;
  readonly kind: string;
  readonly addresses: readonly {
    readonly family: 'v4' | 'v6';
    readonly address: string;
    readonly prefixLength: number;
  }[];
}

/** A guest route; `dest` '' is the default route. */
export interface GuestRouteUpdate {
  readonly family: 'v4' | 'v6';
  readonly dest: string;
  readonly gateway: string;
  readonly device: string;
  readonly source: string;
  readonly scope: number;
}

function family(f: 'v4' | 'v6'): IPFamily {
  return f === 'v4' ? IPFamily.v4 : IPFamily.v6;
}

/** Kata's types.Interface: `device` and `name` are the guest name, `mask` the prefix length. */
export function toAgentInterface(i: GuestInterfaceUpdate): AgentInterface {
  return {
    device: i.name,
    name: i.name,
    IPAddresses: i.addresses.map((a) => ({
      family: family(a.family),
      address: a.address,
      mask: String(a.prefixLength),
    })),
    mtu: i.mtu,
    hwAddr: i.mac,
    pciPath: '',
    type: i.kind,
    raw_flags: 0,
  };
}

export function toAgentRoute(r: GuestRouteUpdate): AgentRoute {
  return {
    dest: r.dest,
    gateway: r.gateway,
    device: r.device,
    source: r.source,
    scope: r.scope,
    family: family(r.family),
  };
}
