import { isAbsolute, normalize } from 'node:path';
import { HypervisorError } from './errors.js';
import type { NetDeviceSpec } from './vm-spec.js';

function bad(message: string): HypervisorError {
  return new HypervisorError('invalid_argument', 'ERR_VM_SPEC', message);
}

const NETDEV_ID = /^[A-Za-z0-9_-]{1,20}$/;
const TAP_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Checks one NIC: id, tap name and a unicast, non-zero MAC. */
export function checkNetDevice(d: NetDeviceSpec): void {
  if (!NETDEV_ID.test(d.id))
    throw bad(`netDevices: id ${JSON.stringify(d.id)}: expected 1-20 of [A-Za-z0-9_-]`);
  if (!TAP_NAME.test(d.tapName))
    throw bad(
      `netDevices[${d.id}].tapName ${JSON.stringify(d.tapName)}: expected an interface name (1-15 of [A-Za-z0-9_.-])`,
    );
  if (!MAC.test(d.mac))
    throw bad(
      `netDevices[${d.id}].mac ${JSON.stringify(d.mac)}: expected lower-case aa:bb:cc:dd:ee:ff`,
    );
  if ((Number.parseInt(d.mac.slice(0, 2), 16) & 1) === 1 || d.mac === '00:00:00:00:00:00')
    throw bad(`netDevices[${d.id}].mac ${d.mac}: not a unicast address`);
}

/**
 * `-netdev tap` + virtio-net per NIC: QEMU opens the named tap itself (no ifup scripts, no vhost:
 * /dev/vhost-net may be missing), no option ROM (we never network-boot). Confidential guests get
 * the modern-only, IOMMU-platform device like every other virtio device.
 */
export function netDeviceArgs(
  machine: 'q35' | 'microvm',
  devices: readonly NetDeviceSpec[],
  confidential: boolean,
): string[] {
  const out: string[] = [];
  const ids = new Set<string>();
  for (const d of devices) {
    checkNetDevice(d);
    if (ids.has(d.id)) throw bad(`netDevices: id ${d.id} is used twice`);
    ids.add(d.id);
    out.push('-netdev', `tap,id=${d.id},ifname=${d.tapName},script=no,downscript=no,vhost=off`);
    const dev =
      machine === 'microvm'
        ? 'virtio-net-device'
        : `virtio-net-pci${confidential ? ',disable-legacy=on,iommu_platform=on' : ''},romfile=`;
    out.push('-device', `${dev},netdev=${d.id},mac=${d.mac},id=${d.id}-nic`);
  }
  return out;
}

/** Checks the network namespace path QEMU is started in. */
export function checkNetworkNamespace(path: string): void {
  if (!isAbsolute(path) || normalize(path) !== path || path.includes('\0'))
    throw bad(`networkNamespace ${JSON.stringify(path)}: expected an absolute normalized path`);
}

/**
 * The program and argv that start QEMU: directly, or under `nsenter --net=<ns>` when the VM has a
 * network namespace (nsenter execs QEMU in place, so the pid is QEMU's).
 */
export function qemuLaunch(
  qemuBinary: string,
  args: readonly string[],
  networkNamespace: string | undefined,
): { readonly binary: string; readonly args: string[] } {
  if (networkNamespace === undefined) return { binary: qemuBinary, args: [...args] };
  checkNetworkNamespace(networkNamespace);
  return { binary: 'nsenter', args: [`--net=${networkNamespace}`, '--', qemuBinary, ...args] };
}
