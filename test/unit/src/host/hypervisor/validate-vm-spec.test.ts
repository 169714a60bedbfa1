import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { validateVmSpec, type VmSpec } from '#src/host/hypervisor/index.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kata-spec-'));
  for (const f of ['vmlinuz', 'initrd.img', 'root.img']) writeFileSync(join(dir, f), 'x');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function spec(o: Partial<VmSpec> = {}): VmSpec {
  return {
    id: 'vm-1',
    cpus: 1,
    memoryMib: 256,
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    rootDisk: { path: join(dir, 'root.img') },
    kernelParams: [],
    agentChannel: { kind: 'virtio-serial', socketPath: join(dir, 'agent.sock') },
    disks: [],
    tee: { kind: 'none' },
    stateDir: dir,
    consoleLogPath: join(dir, 'console.log'),
    ...o,
  };
}

describe('validateVmSpec', () => {
  test('accepts a complete spec', () => {
    expect(() => {
      validateVmSpec(spec());
    }).not.toThrow();
  });

  test.each([
    ['an id with a comma', { id: 'a,b' }, 'invalid_argument', /vm id/],
    ['zero cpus', { cpus: 0 }, 'invalid_argument', /cpus/],
    ['32 MiB of memory', { memoryMib: 32 }, 'invalid_argument', /memoryMib/],
    [
      'a missing kernel',
      { kernel: '/nonexistent/vmlinuz' },
      'not_found',
      /kernel \/nonexistent\/vmlinuz not found: build the guest image/,
    ],
    ['a relative initrd', { initrd: 'initrd.img' }, 'invalid_argument', /absolute/],
    [
      'a missing disk',
      { disks: [{ id: 'd1', path: '/nonexistent/d1', readonly: true }] },
      'not_found',
      /disk d1/,
    ],
    [
      'a too long agent socket path',
      { agentChannel: { kind: 'virtio-serial', socketPath: `/${'x'.repeat(120)}` } },
      'invalid_argument',
      /longer than a unix socket path/,
    ],
    [
      'a TDX guest without firmware',
      { tee: { kind: 'tdx', firmware: '/nonexistent/tdvf.fd' } },
      'not_found',
      /tdx firmware/,
    ],
  ] as const)('refuses %s', (_name, o, kind, message) => {
    expect(() => {
      validateVmSpec(spec(o));
    }).toThrow(
      expect.objectContaining({
        kind,
        code: 'ERR_VM_SPEC',
        message: expect.stringMatching(message),
      }),
    );
  });
});
