export type IpFamily = 'v4' | 'v6';

export interface NetAddress {
  readonly family: IpFamily;
  readonly address: string;
  readonly prefixLength: number;
}

/** A guest NIC as configured or listed. */
export interface NetInterface {
  readonly name: string;
  /** Lower-case `aa:bb:cc:dd:ee:ff`. */
  readonly mac: string;
  readonly mtu: number;
  readonly addresses: readonly NetAddress[];
}

/** An interface update: the NIC with `mac` gets `name`, `mtu` (0 = keep) and exactly `addresses`. */
export type InterfaceUpdate = NetInterface;

/** A route; `dest` is a CIDR, or '' for the default route. */
export interface NetRoute {
  readonly family: IpFamily;
  readonly dest: string;
  readonly gateway: string;
  readonly device: string;
  readonly source: string;
  /** rtnetlink scope 0..255 (0 universe, 253 link, 254 host). */
  readonly scope: number;
}

/** Field-for-field the Kata `types.Interface` (host input, unvalidated). */
export interface RawInterface {
  readonly device: string;
  readonly name: string;
  readonly IPAddresses: readonly RawIpAddress[];
  readonly mtu: number;
  readonly hwAddr: string;
  readonly pciPath: string;
  readonly type: string;
  readonly raw_flags: number;
}

export interface RawIpAddress {
  readonly family: number;
  readonly address: string;
  readonly mask: string;
}

/** Field-for-field the Kata `types.Route` (host input, unvalidated). */
export interface RawRoute {
  readonly dest: string;
  readonly gateway: string;
  readonly device: string;
  readonly source: string;
  readonly scope: number;
  readonly family: number;
}
