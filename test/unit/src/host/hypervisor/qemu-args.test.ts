import { describe, expect, test } from 'vitest';
import {
  agentChannelArgs,
  BASE_KERNEL_PARAMS,
  buildQemuArgs,
  diskArgs,
  hotplugPorts,
  kernelArgs,
  optValue,
  teeArgs,
  type VmSpec,
} from '#src/host/hypervisor/index.js';

const HASH = 'ab'.repeat(32);

function spec(overrides: Partial<VmSpec> = {}): VmSpec {
  return {
    id: 'pod1',
    cpus: 1,
    memoryMib: 256,
    kernel: '/img/vmlinuz',
    initrd: '/img/initrd.img',
    rootDisk: { path: '/img/root.img', verityRootHash: HASH },
    kernelParams: ['kata.hashoffset=4096'],
    agentChannel: { kind: 'virtio-serial', socketPath: '/run/p/agent.sock' },
    disks: [{ id: 'initdata', path: '/run/p/initdata.img', readonly: true }],
    tee: { kind: 'none' },
    stateDir: '/run/p',
    consoleLogPath: '/run/p/console.log',
    ...overrides,
  };
}

describe('buildQemuArgs', () => {
  test('builds the whole coco-dev command line under TCG', () => {
    expect(buildQemuArgs(spec(), { accel: 'tcg', qmpSocketPath: '/run/p/qmp.sock' })).toEqual([
      '-name',
      'kata-cc-pod1',
      '-nodefaults',
      '-no-user-config',
      '-nographic',
      '-no-reboot',
      '-machine',
      'q35',
      '-accel',
      'tcg,tb-size=64',
      '-cpu',
      'max',
      '-smp',
      '1',
      '-m',
      '256M',
      '-kernel',
      '/img/vmlinuz',
      '-initrd',
      '/img/initrd.img',
      '-append',
      `${BASE_KERNEL_PARAMS.join(' ')} kata.hashoffset=4096 kata.roothash=${HASH}`,
      '-drive',
      'file=/img/root.img,if=none,id=root,format=raw,readonly=on',
      '-device',
      'virtio-blk-pci,drive=root,serial=kata-root',
      '-drive',
      'file=/run/p/initdata.img,if=none,id=disk-initdata,format=raw,readonly=on',
      '-device',
      'virtio-blk-pci,drive=disk-initdata,serial=initdata',
      '-device',
      'virtio-serial-pci,id=serial0',
      '-chardev',
      'socket,id=ch0,path=/run/p/agent.sock,server=on,wait=off',
      '-device',
      'virtserialport,chardev=ch0,name=agent.channel.0',
      '-device',
      'pcie-root-port,id=kata-rp0,bus=pcie.0,chassis=1,slot=1',
      '-device',
      'pcie-root-port,id=kata-rp1,bus=pcie.0,chassis=1,slot=2',
      '-device',
      'pcie-root-port,id=kata-rp2,bus=pcie.0,chassis=1,slot=3',
      '-device',
      'pcie-root-port,id=kata-rp3,bus=pcie.0,chassis=1,slot=4',
      '-chardev',
      'file,id=console0,path=/run/p/console.log',
      '-serial',
      'chardev:console0',
      '-chardev',
      'socket,id=qmp0,path=/run/p/qmp.sock,server=on,wait=off',
      '-mon',
      'chardev=qmp0,mode=control',
    ]);
  });

  test('gives hot-plug root ports to q35 guests only, never to microvm or confidential guests', () => {
    expect(hotplugPorts('q35', false)).toEqual(['kata-rp0', 'kata-rp1', 'kata-rp2', 'kata-rp3']);
    expect(hotplugPorts('microvm', false)).toEqual([]);
    expect(hotplugPorts('q35', true)).toEqual([]);
    const mm = buildQemuArgs(spec({ machine: 'microvm' }), { accel: 'tcg', qmpSocketPath: '/q' });
    expect(mm.join(' ')).not.toContain('pcie-root-port');
    const tdx = buildQemuArgs(spec({ tee: { kind: 'tdx', firmware: '/fw' } }), {
      accel: 'kvm',
      qmpSocketPath: '/q',
    });
    expect(tdx.join(' ')).not.toContain('pcie-root-port');
  });

  test('uses -accel kvm and -cpu host when KVM works', () => {
    const a = buildQemuArgs(spec(), { accel: 'kvm', qmpSocketPath: '/q' });
    expect(a.join(' ')).toContain('-machine q35 -accel kvm -cpu host -smp 1');
  });

  test('uses virtio-mmio devices on microvm', () => {
    const a = buildQemuArgs(spec({ machine: 'microvm' }), {
      accel: 'tcg',
      qmpSocketPath: '/q',
    }).join(' ');
    expect(a).toContain('-machine microvm');
    expect(a).toContain('virtio-blk-device,drive=root,serial=kata-root');
    expect(a).toContain('-device virtio-serial-device,id=serial0');
    expect(a).not.toContain('-pci');
  });

  test('builds the TDX launch line', () => {
    const tee = {
      kind: 'tdx',
      mrConfigId: new Uint8Array(48).fill(7),
      quoteGenerationSocket: '/var/run/tdx-qgs/qgs.socket',
      firmware: '/fw/OVMF.inteltdx.fd',
    } as const;
    const a = buildQemuArgs(spec({ tee }), { accel: 'kvm', qmpSocketPath: '/q' });
    const i = a.indexOf('-machine');
    expect(a.slice(i, i + 2)).toEqual([
      '-machine',
      'q35,accel=kvm,kernel_irqchip=split,confidential-guest-support=tdx',
    ]);
    expect(a).not.toContain('-accel');
    expect(a.slice(a.indexOf('-cpu'), a.indexOf('-cpu') + 2)).toEqual(['-cpu', 'host,pmu=off']);
    const obj = a[a.indexOf('-object') + 1]!;
    expect(JSON.parse(obj)).toEqual({
      'qom-type': 'tdx-guest',
      id: 'tdx',
      mrconfigid: Buffer.alloc(48, 7).toString('base64'),
      'quote-generation-socket': { type: 'unix', path: '/var/run/tdx-qgs/qgs.socket' },
    });
    expect(a.slice(a.indexOf('-bios'), a.indexOf('-bios') + 2)).toEqual([
      '-bios',
      '/fw/OVMF.inteltdx.fd',
    ]);
    expect(a.join(' ')).toContain('virtio-blk-pci,disable-legacy=on,iommu_platform=on,drive=root');
    expect(a.join(' ')).not.toMatch(/virtio-rng|virtiofs|maxmem|slots=/);
  });

  test('builds the SNP launch line with host-data and policy', () => {
    const tee = {
      kind: 'snp',
      hostData: new Uint8Array(32).fill(1),
      policy: 0x30000,
      firmware: '/fw/OVMF.amdsev.fd',
    } as const;
    const a = buildQemuArgs(spec({ tee }), { accel: 'kvm', qmpSocketPath: '/q' });
    expect(a[a.indexOf('-machine') + 1]).toBe('q35,accel=kvm,confidential-guest-support=snp');
    expect(a[a.indexOf('-cpu') + 1]).toBe('EPYC-v4,pmu=off');
    expect(a[a.indexOf('-object') + 1]).toBe(
      `sev-snp-guest,id=snp,cbitpos=51,reduced-phys-bits=1,kernel-hashes=on,host-data=${Buffer.alloc(32, 1).toString('base64')},policy=0x30000`,
    );
    expect(a[a.indexOf('-bios') + 1]).toBe('/fw/OVMF.amdsev.fd');
  });

  test('omits optional SNP fields', () => {
    expect(teeArgs({ kind: 'snp', cbitpos: 47, firmware: '/fw' })).toEqual([
      '-object',
      'sev-snp-guest,id=snp,cbitpos=47,reduced-phys-bits=1,kernel-hashes=on',
      '-bios',
      '/fw',
    ]);
  });

  test.each([
    [
      'a TDX guest under TCG',
      spec({ tee: { kind: 'tdx', firmware: '/fw' } }),
      'tcg',
      'ERR_ACCEL_UNAVAILABLE',
    ],
    [
      'a confidential microvm',
      spec({ machine: 'microvm', tee: { kind: 'snp', firmware: '/fw' } }),
      'kvm',
      'ERR_VM_SPEC',
    ],
    [
      'an mrconfigid of 32 bytes',
      spec({ tee: { kind: 'tdx', mrConfigId: new Uint8Array(32), firmware: '/fw' } }),
      'kvm',
      'ERR_VM_SPEC',
    ],
    [
      'a host-data of 48 bytes',
      spec({ tee: { kind: 'snp', hostData: new Uint8Array(48), firmware: '/fw' } }),
      'kvm',
      'ERR_VM_SPEC',
    ],
    ['a kernel parameter with a space', spec({ kernelParams: ['a b'] }), 'tcg', 'ERR_VM_SPEC'],
    [
      'a bad root hash',
      spec({ rootDisk: { path: '/r', verityRootHash: 'xyz' } }),
      'tcg',
      'ERR_VM_SPEC',
    ],
    [
      'a disk id longer than a virtio-blk serial',
      spec({ disks: [{ id: 'x'.repeat(21), path: '/d', readonly: true }] }),
      'tcg',
      'ERR_VM_SPEC',
    ],
  ] as const)('refuses %s', (_name, s, accel, code) => {
    expect(() => buildQemuArgs(s, { accel, qmpSocketPath: '/q' })).toThrow(
      expect.objectContaining({ code }),
    );
  });
});

describe('device builders', () => {
  test('gives every guest the serial console, quiet, exit on panic and the boot-time savers', () => {
    expect(BASE_KERNEL_PARAMS.slice(0, 3)).toEqual(['console=ttyS0', 'quiet', 'panic=-1']);
    expect(BASE_KERNEL_PARAMS).toEqual(
      expect.arrayContaining(['cryptomgr.notests', 'tsc=reliable', 'no_timer_check']),
    );
  });

  test('doubles commas in paths', () => {
    expect(optValue('/a,b')).toBe('/a,,b');
    expect(diskArgs('q35', { path: '/x,y/root.img' }, [], false)[1]).toBe(
      'file=/x,,y/root.img,if=none,id=root,format=raw,readonly=on',
    );
  });

  test('adds a writable disk without readonly', () => {
    expect(
      diskArgs('q35', undefined, [{ id: 'scratch', path: '/s', readonly: false }], false),
    ).toEqual([
      '-drive',
      'file=/s,if=none,id=disk-scratch,format=raw',
      '-device',
      'virtio-blk-pci,drive=disk-scratch,serial=scratch',
    ]);
  });

  test('builds a vsock device and refuses hybrid vsock on QEMU', () => {
    expect(agentChannelArgs('q35', { kind: 'vsock', guestCid: 3, port: 1024 }, false)).toEqual([
      '-device',
      'vhost-vsock-pci,id=vsock0,guest-cid=3',
    ]);
    expect(() =>
      agentChannelArgs('q35', { kind: 'vsock', guestCid: 2, port: 1024 }, false),
    ).toThrow(expect.objectContaining({ code: 'ERR_VM_SPEC' }));
    expect(() =>
      agentChannelArgs('q35', { kind: 'hybrid-vsock', socketPath: '/h', port: 1024 }, false),
    ).toThrow(/hybrid-vsock/);
  });

  test('leaves the root hash off when the spec has none', () => {
    expect(kernelArgs({ kernel: '/k', kernelParams: [], rootDisk: { path: '/r' } })).toEqual([
      '-kernel',
      '/k',
      '-append',
      BASE_KERNEL_PARAMS.join(' '),
    ]);
  });
});
