/** What the hypervisor layer boots. It knows nothing of containers; the runtime fills this in. */
export interface VmSpec {
  /** Short id used in QEMU's -name and in logs ([A-Za-z0-9_.-], ≤ 64). */
  readonly id: string;
  readonly cpus: number;
  readonly memoryMib: number;
  readonly kernel: string;
  readonly initrd?: string | undefined;
  /** The guest root disk (virtio-blk, read-only, serial `kata-root`); its dm-verity root hash goes on the command line. */
  readonly rootDisk?:
    { readonly path: string; readonly verityRootHash?: string | undefined } | undefined;
  readonly kernelParams: readonly string[];
  readonly agentChannel: AgentChannelSpec;
  readonly disks: readonly DiskSpec[];
  readonly tee: TeeSpec;
  /** Folder for the QMP socket and probe files; created if missing. */
  readonly stateDir: string;
  /** The guest serial console is written here. */
  readonly consoleLogPath: string;
  readonly machine?: 'q35' | 'microvm' | undefined;
  /** Cold-plugged NICs (virtio-net on a tap); confidential guests get them at boot too. */
  readonly netDevices?: readonly NetDeviceSpec[] | undefined;
  /** Network namespace QEMU runs in (where the taps are), e.g. /var/run/netns/cni-…. */
  readonly networkNamespace?: string | undefined;
}

/** A virtio-net NIC backed by a host tap that already exists (QEMU opens it, no scripts). */
export interface NetDeviceSpec {
  /** QEMU netdev id ([A-Za-z0-9_-], ≤ 20). */
  readonly id: string;
  /** The tap's name in QEMU's network namespace (≤ 15 characters). */
  readonly tapName: string;
  /** Guest MAC, lower-case `aa:bb:cc:dd:ee:ff` (a unicast address). */
  readonly mac: string;
}

export type AgentChannelSpec =
  | { readonly kind: 'virtio-serial'; readonly socketPath: string }
  | { readonly kind: 'vsock'; readonly guestCid: number; readonly port: number }
  | { readonly kind: 'hybrid-vsock'; readonly socketPath: string; readonly port: number };

export interface DiskSpec {
  /** Also the virtio-blk serial the guest sees (≤ 20 characters). */
  readonly id: string;
  readonly path: string;
  readonly readonly: boolean;
  readonly format?: 'raw' | undefined;
}

export type TeeSpec =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'tdx';
      /** 48 bytes (SHA-384 of the initdata, zero-padded). */
      readonly mrConfigId?: Uint8Array | undefined;
      /** Unix socket of the host's quote generation service. */
      readonly quoteGenerationSocket?: string | undefined;
      /** TDVF firmware. */
      readonly firmware: string;
    }
  | {
      readonly kind: 'snp';
      /** 32 bytes bound into the attestation report. */
      readonly hostData?: Uint8Array | undefined;
      readonly cbitpos?: number | undefined;
      readonly policy?: number | undefined;
      /** AmdSev OVMF (kernel-hashes). */
      readonly firmware: string;
    };

export type TeeKind = TeeSpec['kind'];

/** The accelerator QEMU runs with, after the probe. */
export type Accel = 'kvm' | 'tcg';
export type AccelMode = Accel | 'auto';

export function isConfidential(tee: TeeSpec): boolean {
  return tee.kind !== 'none';
}
