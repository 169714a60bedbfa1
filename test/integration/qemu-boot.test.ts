import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { GUEST_INIT_MARKERS } from '#guest/build/index.js';
import { startVm, waitForConsoleMarker, type Vm, type VmSpec } from '#src/host/hypervisor/index.js';
import {
  ensureTestGuestImage,
  TEST_PAYLOAD_MARKER,
  type GuestManifest,
} from '#test/helpers/guest-image.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const QEMU = '/usr/bin/qemu-system-x86_64';
const hasQemu = existsSync(QEMU);
if (!hasQemu)
  console.log(`skipping qemu boot tests: ${QEMU} is missing (apt-get install -y qemu-system-x86)`);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function specFor(manifest: GuestManifest, dir: string, overrides: Partial<VmSpec> = {}): VmSpec {
  return {
    id: 'boot-test',
    cpus: 1,
    memoryMib: 256,
    kernel: manifest.kernel,
    initrd: manifest.initrd,
    rootDisk: { path: manifest.rootfs, verityRootHash: manifest.verityRootHash },
    kernelParams: manifest.kernelParams,
    agentChannel: { kind: 'virtio-serial', socketPath: join(dir, 'agent.sock') },
    disks: [],
    tee: { kind: 'none' },
    stateDir: join(dir, 'state'),
    consoleLogPath: join(dir, 'console.log'),
    ...overrides,
  };
}

/** Connects to the agent socket, sends a line, returns the first line back. */
function pingAgent(path: string, text: string, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let got = '';
    const onAbort = (): void => {
      s.destroy();
      reject(new Error(`no answer on ${path}`));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    s.on('connect', () => s.write(`${text}\n`));
    s.on('data', (b: Buffer) => {
      got += b.toString('utf8');
      const nl = got.indexOf('\n');
      if (nl >= 0) {
        signal.removeEventListener('abort', onAbort);
        s.destroy();
        resolve(got.slice(0, nl));
      }
    });
    s.on('error', reject);
  });
}

describe.skipIf(!hasQemu)('qemu boot of the guest image (TCG here)', () => {
  let manifest: GuestManifest;
  let dir: string;
  const opts = {
    qemuBinary: QEMU,
    accel: 'auto' as const,
    probeCacheDir: join(PROJECT_ROOT, '.cache', 'hypervisor'),
  };

  beforeAll(async () => {
    manifest = await ensureTestGuestImage();
    dir = mkdtempSync(join(tmpdir(), 'kata-qemu-boot-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('boots to the verified root, runs node and answers on the agent channel; pause, resume and stop work', async () => {
    const d = mkdtempSync(join(dir, 'ok-'));
    const spec = specFor(manifest, d);
    const vm: Vm = await startVm(spec, opts);
    try {
      expect(vm.state).toBe('running');
      // generous: on a loaded 2-core host a TCG boot to node can take minutes
      const signal = AbortSignal.timeout(540_000);
      await waitForConsoleMarker(spec.consoleLogPath, GUEST_INIT_MARKERS.ready, {
        signal,
        exited: vm.exited,
      });
      await waitForConsoleMarker(spec.consoleLogPath, TEST_PAYLOAD_MARKER, {
        signal,
        exited: vm.exited,
      });
      expect(await pingAgent(join(d, 'agent.sock'), 'hello', signal)).toBe('PONG:hello');
      await vm.pause();
      expect(vm.state).toBe('paused');
      expect((await vm.status()).status).toBe('paused');
      await expect(vm.pause()).rejects.toMatchObject({
        kind: 'failed_precondition',
        code: 'ERR_VM_STATE',
      });
      await vm.resume();
      expect(vm.state).toBe('running');
      expect((await vm.status()).running).toBe(true);
      expect(await pingAgent(join(d, 'agent.sock'), 'again', signal)).toBe('PONG:again');
    } finally {
      await vm.stop();
    }
    expect(vm.state).toBe('stopped');
    expect(isAlive(vm.pid)).toBe(false);
    expect(existsSync(join(spec.stateDir, 'qmp.sock'))).toBe(false);
    expect(existsSync(join(d, 'agent.sock'))).toBe(false);
    await vm.stop();
  }, 600_000);

  test('refuses to boot with a wrong dm-verity root hash, printing the verity marker', async () => {
    const d = mkdtempSync(join(dir, 'bad-'));
    const wrong = manifest.verityRootHash.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const spec = specFor(manifest, d, {
      rootDisk: { path: manifest.rootfs, verityRootHash: wrong },
    });
    const vm = await startVm(spec, opts);
    try {
      const exit = await Promise.race([
        vm.exited,
        new Promise<'timeout'>((r) => setTimeout(r, 540_000, 'timeout')),
      ]);
      expect(exit).not.toBe('timeout');
      expect(vm.consoleTail(50).some((l) => l.includes(GUEST_INIT_MARKERS.verityFailed))).toBe(
        true,
      );
      expect(vm.consoleTail(50).some((l) => l.includes(GUEST_INIT_MARKERS.ready))).toBe(false);
      expect(vm.state).toBe('stopped');
    } finally {
      await vm.stop();
    }
  }, 600_000);

  test('fails clearly when the kernel is missing, leaving nothing behind', async () => {
    const d = mkdtempSync(join(dir, 'nokernel-'));
    const spec = specFor(manifest, d, { kernel: join(d, 'no-such-vmlinuz') });
    await expect(startVm(spec, opts)).rejects.toMatchObject({
      kind: 'not_found',
      code: 'ERR_VM_SPEC',
      message: expect.stringContaining('no-such-vmlinuz'),
    });
    expect(existsSync(join(d, 'state', 'qmp.sock'))).toBe(false);
  });

  test('reports qemu exiting early with its stderr tail', async () => {
    const d = mkdtempSync(join(dir, 'early-'));
    const spec = specFor(manifest, d, { memoryMib: 1 << 20 });
    await expect(startVm(spec, { ...opts, accel: 'tcg' })).rejects.toMatchObject({
      code: 'ERR_QEMU_EXITED',
      message: expect.stringContaining('stderr:'),
    });
    expect(existsSync(join(d, 'state', 'qmp.sock'))).toBe(false);
  });
});
