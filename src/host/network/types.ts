/** Address family, as the Kata agent API names it. */
export type IpFamily = 'v4' | 'v6';

export interface PodIpAddress {
  readonly family: IpFamily;
  readonly address: string;
  readonly prefixLength: number;
}

/** One route of the pod netns; `dest` is a CIDR, or '' for the default route. */
export interface PodRoute {
  readonly family: IpFamily;
  readonly dest: string;
  readonly gateway: string;
  /** The interface name (the same name the guest NIC gets). */
  readonly device: string;
  /** Preferred source address, or ''. */
  readonly source: string;
  /** rtnetlink scope: 0 universe, 253 link, 254 host. */
  readonly scope: number;
}

/** A network interface found in the pod netns (a veth end CNI made). */
export interface PodInterface {
  readonly name: string;
  /** Lower-case `aa:bb:cc:dd:ee:ff`; the guest NIC gets the same MAC. */
  readonly mac: string;
  readonly mtu: number;
  /** Link kind (`veth`, or '' for a plain ethernet device). */
  readonly kind: string;
  readonly addresses: readonly PodIpAddress[];
}

/** An interface wired to the VM: its tap in the pod netns and the QEMU netdev id. */
export interface PodEndpoint extends PodInterface {
  readonly tapName: string;
  readonly netdevId: string;
}
