import { HypervisorError } from './errors.js';
import { netDeviceArgs } from './net-device-args.js';
import {
  isConfidential,
  type Accel,
  type AgentChannelSpec,
  type DiskSpec,
  type TeeSpec,
  type VmSpec,
} from './vm-spec.js';

/** virtio-blk serial of the root disk; the guest init finds its root by it. */
export const ROOT_DISK_SERIAL = 'kata-root';
/** Kernel parameter carrying the dm-verity root hash to the guest init. */
export const VERITY_ROOTHASH_PARAM = 'kata.roothash';
/** Name of the virtio-serial port the agent listens on. */
export const AGENT_PORT_NAME = 'agent.channel.0';
/**
 * Parameters every guest gets: serial console, quiet (TCG serial is slow), reboot on panic (= exit
 * with -no-reboot), and the boot-time savers Kata also uses: no crypto self-tests, trusted TSC, no
 * timer check, expedited RCU, no i8042 probing.
 */
export const BASE_KERNEL_PARAMS: readonly string[] = [
  'console=ttyS0',
  'quiet',
  'panic=-1',
  'cryptomgr.notests',
  'tsc=reliable',
  'no_timer_check',
  'rcupdate.rcu_expedited=1',
  'i8042.direct=1',
  'i8042.dumbkbd=1',
  'i8042.nopnp=1',
  'i8042.noaux=1',
];
export const SNP_DEFAULT_CBITPOS = 51;

export type Machine = 'q35' | 'microvm';

/** QEMU's option syntax doubles a comma inside a value. */
export function optValue(value: string): string {
  return value.replaceAll(',', ',,');
}

function bad(message: string): HypervisorError {
  return new HypervisorError('invalid_argument', 'ERR_VM_SPEC', message);
}

/** -nodefaults and friends: no implicit devices, no config files, no display, reboot = exit. */
export function baseArgs(id: string): string[] {
  return [
    '-name',
    optValue(`kata-cc-${id}`),
    '-nodefaults',
    '-no-user-config',
    '-nographic',
    '-no-reboot',
  ];
}

export function machineArgs(machine: Machine, accel: Accel, tee: TeeSpec): string[] {
  switch (tee.kind) {
    case 'tdx':
      return ['-machine', 'q35,accel=kvm,kernel_irqchip=split,confidential-guest-support=tdx'];
    case 'snp':
      return ['-machine', 'q35,accel=kvm,confidential-guest-support=snp'];
    case 'none':
      return ['-machine', machine, '-accel', accel === 'tcg' ? 'tcg,tb-size=64' : 'kvm'];
  }
}

export function cpuArgs(cpus: number, accel: Accel, tee: TeeSpec): string[] {
  const model =
    tee.kind === 'tdx'
      ? 'host,pmu=off'
      : tee.kind === 'snp'
        ? 'EPYC-v4,pmu=off'
        : accel === 'kvm'
          ? 'host'
          : 'max';
  return ['-cpu', model, '-smp', String(cpus)];
}

export function memoryArgs(memoryMib: number): string[] {
  return ['-m', `${memoryMib}M`];
}

/** TDX/SNP launch objects and firmware; nothing for a guest without a TEE. */
export function teeArgs(tee: TeeSpec): string[] {
  switch (tee.kind) {
    case 'none':
      return [];
    case 'tdx': {
      const obj: Record<string, unknown> = { 'qom-type': 'tdx-guest', id: 'tdx' };
      if (tee.mrConfigId !== undefined) {
        if (tee.mrConfigId.length !== 48)
          throw bad(`tee.mrConfigId: expected 48 bytes, got ${tee.mrConfigId.length}`);
        obj['mrconfigid'] = Buffer.from(tee.mrConfigId).toString('base64');
      }
      if (tee.quoteGenerationSocket !== undefined) {
        obj['quote-generation-socket'] = { type: 'unix', path: tee.quoteGenerationSocket };
      }
      return ['-object', JSON.stringify(obj), '-bios', tee.firmware];
    }
    case 'snp': {
      const cbitpos = tee.cbitpos ?? SNP_DEFAULT_CBITPOS;
      if (!Number.isInteger(cbitpos) || cbitpos < 32 || cbitpos > 63)
        throw bad(`tee.cbitpos: expected 32..63, got ${cbitpos}`);
      let obj = `sev-snp-guest,id=snp,cbitpos=${cbitpos},reduced-phys-bits=1,kernel-hashes=on`;
      if (tee.hostData !== undefined) {
        if (tee.hostData.length !== 32)
          throw bad(`tee.hostData: expected 32 bytes, got ${tee.hostData.length}`);
        obj += `,host-data=${Buffer.from(tee.hostData).toString('base64')}`;
      }
      if (tee.policy !== undefined) {
        if (!Number.isInteger(tee.policy) || tee.policy < 0 || tee.policy > 0xffffffff)
          throw bad('tee.policy: expected a 32-bit integer');
        obj += `,policy=0x${tee.policy.toString(16)}`;
      }
      return ['-object', obj, '-bios', tee.firmware];
    }
  }
}

export function kernelArgs(
  spec: Pick<VmSpec, 'kernel' | 'initrd' | 'kernelParams' | 'rootDisk'>,
): string[] {
  const params = [...BASE_KERNEL_PARAMS, ...spec.kernelParams];
  const hash = spec.rootDisk?.verityRootHash;
  if (hash !== undefined) {
    if (!/^[0-9a-f]{64}$/.test(hash))
      throw bad('rootDisk.verityRootHash: expected 64 lower-case hex digits');
    params.push(`${VERITY_ROOTHASH_PARAM}=${hash}`);
  }
  for (const p of params) {
    if (p === '' || /[\s"]/.test(p))
      throw bad(`kernel parameter ${JSON.stringify(p)} is empty or holds whitespace or quotes`);
  }
  const out = ['-kernel', spec.kernel];
  if (spec.initrd !== undefined) out.push('-initrd', spec.initrd);
  out.push('-append', params.join(' '));
  return out;
}

function virtioDevice(
  machine: Machine,
  pciName: string,
  mmioName: string,
  confidential: boolean,
): string {
  if (machine === 'microvm') return mmioName;
  return confidential ? `${pciName},disable-legacy=on,iommu_platform=on` : pciName;
}

/** A disk id is also its virtio-blk serial: 1-20 of [A-Za-z0-9_-], not `root` or `kata-root`. */
export function checkDiskId(id: string): void {
  if (!/^[A-Za-z0-9_-]{1,20}$/.test(id) || id === ROOT_DISK_SERIAL || id === 'root') {
    throw bad(
      `disk id ${JSON.stringify(id)}: expected 1-20 of [A-Za-z0-9_-], not root or ${ROOT_DISK_SERIAL}`,
    );
  }
}

/** How many PCIe root ports a q35 guest without a TEE gets for disk hot-plug. */
export const HOTPLUG_PORT_COUNT = 4;

/** Ids of the hot-plug root ports (`kata-rp0` …) a spec gets; none for microvm or a TEE guest. */
export function hotplugPorts(machine: Machine, confidential: boolean): string[] {
  if (machine !== 'q35' || confidential) return [];
  return Array.from({ length: HOTPLUG_PORT_COUNT }, (_, i) => `kata-rp${i}`);
}

/** The empty PCIe root ports disks are hot-plugged into (after every other device, so boot disks keep their order). */
export function hotplugPortArgs(ports: readonly string[]): string[] {
  return ports.flatMap((id, i) => [
    '-device',
    `pcie-root-port,id=${id},bus=pcie.0,chassis=1,slot=${i + 1}`,
  ]);
}

/** The root disk (read-only, serial kata-root) and the extra disks (serial = id). */
export function diskArgs(
  machine: Machine,
  rootDisk: VmSpec['rootDisk'],
  disks: readonly DiskSpec[],
  confidential: boolean,
): string[] {
  const out: string[] = [];
  const dev = virtioDevice(machine, 'virtio-blk-pci', 'virtio-blk-device', confidential);
  if (rootDisk !== undefined) {
    out.push('-drive', `file=${optValue(rootDisk.path)},if=none,id=root,format=raw,readonly=on`);
    out.push('-device', `${dev},drive=root,serial=${ROOT_DISK_SERIAL}`);
  }
  for (const d of disks) {
    checkDiskId(d.id);
    out.push(
      '-drive',
      `file=${optValue(d.path)},if=none,id=disk-${d.id},format=${d.format ?? 'raw'}${d.readonly ? ',readonly=on' : ''}`,
    );
    out.push('-device', `${dev},drive=disk-${d.id},serial=${d.id}`);
  }
  return out;
}

export function agentChannelArgs(
  machine: Machine,
  channel: AgentChannelSpec,
  confidential: boolean,
): string[] {
  switch (channel.kind) {
    case 'virtio-serial':
      return [
        '-device',
        `${virtioDevice(machine, 'virtio-serial-pci', 'virtio-serial-device', confidential)},id=serial0`,
        '-chardev',
        `socket,id=ch0,path=${optValue(channel.socketPath)},server=on,wait=off`,
        '-device',
        `virtserialport,chardev=ch0,name=${AGENT_PORT_NAME}`,
      ];
    case 'vsock':
      if (
        !Number.isInteger(channel.guestCid) ||
        channel.guestCid < 3 ||
        channel.guestCid > 0xfffffffe
      ) {
        throw bad(`agentChannel.guestCid: expected 3..4294967294, got ${channel.guestCid}`);
      }
      return [
        '-device',
        `${virtioDevice(machine, 'vhost-vsock-pci', 'vhost-vsock-device', confidential)},id=vsock0,guest-cid=${channel.guestCid}`,
      ];
    case 'hybrid-vsock':
      throw new HypervisorError(
        'invalid_argument',
        'ERR_VM_SPEC',
        'agentChannel hybrid-vsock is a cloud-hypervisor/firecracker transport; QEMU offers virtio-serial or vsock',
      );
  }
}

/** The guest serial console goes to a file. */
export function consoleArgs(consoleLogPath: string): string[] {
  return [
    '-chardev',
    `file,id=console0,path=${optValue(consoleLogPath)}`,
    '-serial',
    'chardev:console0',
  ];
}

export function qmpArgs(socketPath: string): string[] {
  return [
    '-chardev',
    `socket,id=qmp0,path=${optValue(socketPath)},server=on,wait=off`,
    '-mon',
    'chardev=qmp0,mode=control',
  ];
}

export interface QemuCommandOptions {
  readonly accel: Accel;
  readonly qmpSocketPath: string;
}

/** The whole QEMU argv (without the binary) for a spec. Pure; validation of paths is startVm's. */
export function buildQemuArgs(spec: VmSpec, options: QemuCommandOptions): string[] {
  const confidential = isConfidential(spec.tee);
  const machine: Machine = spec.machine ?? 'q35';
  if (confidential && machine !== 'q35')
    throw bad(`machine ${machine}: confidential guests need q35`);
  if (confidential && options.accel !== 'kvm') {
    throw new HypervisorError(
      'failed_precondition',
      'ERR_ACCEL_UNAVAILABLE',
      `a ${spec.tee.kind} guest needs KVM, but this host runs TCG only`,
    );
  }
  return [
    ...baseArgs(spec.id),
    ...machineArgs(machine, options.accel, spec.tee),
    ...cpuArgs(spec.cpus, options.accel, spec.tee),
    ...memoryArgs(spec.memoryMib),
    ...teeArgs(spec.tee),
    ...kernelArgs(spec),
    ...diskArgs(machine, spec.rootDisk, spec.disks, confidential),
    ...agentChannelArgs(machine, spec.agentChannel, confidential),
    ...netDeviceArgs(machine, spec.netDevices ?? [], confidential),
    ...hotplugPortArgs(hotplugPorts(machine, confidential)),
    ...consoleArgs(spec.consoleLogPath),
    ...qmpArgs(options.qmpSocketPath),
  ];
}
