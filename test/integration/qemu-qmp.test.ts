import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  QmpClient,
  resolveAccel,
  SupervisedProcess,
  type QmpEvent,
} from '#src/host/hypervisor/index.js';
import { ensureTestGuestImage } from '#test/helpers/guest-image.js';

const QEMU = '/usr/bin/qemu-system-x86_64';
const hasQemu = existsSync(QEMU);
if (!hasQemu)
  console.log(
    `skipping real-qemu qmp tests: ${QEMU} is missing (apt-get install -y qemu-system-x86)`,
  );

describe.skipIf(!hasQemu)('QMP against a real QEMU', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kata-qmp-real-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('queries, stops, continues, reports errors and events, and quits', async () => {
    const path = join(dir, 'qmp.sock');
    const proc = await SupervisedProcess.spawn(QEMU, [
      '-machine',
      'none',
      '-nodefaults',
      '-no-user-config',
      '-nographic',
      '-chardev',
      `socket,id=q,path=${path},server=on,wait=off`,
      '-mon',
      'chardev=q,mode=control',
    ]);
    try {
      const qmp = await QmpClient.connect(path, {
        isPeerGone: () => proc.hasExited,
        signal: AbortSignal.timeout(20_000),
      });
      const events: QmpEvent[] = [];
      qmp.onEvent((e) => events.push(e));
      expect((await qmp.queryStatus()).running).toBe(true);
      await qmp.stop();
      expect(await qmp.queryStatus()).toEqual({ status: 'paused', running: false });
      await qmp.cont();
      expect((await qmp.queryStatus()).running).toBe(true);
      await expect(qmp.execute('no-such-command')).rejects.toMatchObject({
        code: 'ERR_QMP_COMMAND',
        message: expect.stringContaining('CommandNotFound'),
      });
      await qmp.quit();
      expect(await proc.exited).toEqual({ code: 0, signal: null });
      await qmp.closed;
      expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['STOP', 'RESUME']));
      await expect(qmp.queryStatus()).rejects.toMatchObject({ kind: 'unavailable' });
    } finally {
      await proc.close({ graceMs: 1000 });
    }
  });

  test('decides the accelerator once with a bounded kvm boot of the guest kernel and caches it', async () => {
    const manifest = await ensureTestGuestImage();
    const cacheDir = join(dir, 'probe-cache');
    const first = await resolveAccel({
      qemuBinary: QEMU,
      kernel: manifest.kernel,
      mode: 'auto',
      cacheDir,
      timeoutMs: 20_000,
    });
    expect(['kvm', 'tcg']).toContain(first.accel);
    if (existsSync('/sys/module/kvm_pvm')) {
      // this machine kind: /dev/kvm is PVM, which cannot run a stock kernel
      expect(first.accel).toBe('tcg');
    }
    expect(readdirSync(cacheDir).filter((f) => f.startsWith('accel-probe-'))).toHaveLength(1);
    const second = await resolveAccel({
      qemuBinary: QEMU,
      kernel: manifest.kernel,
      mode: 'auto',
      cacheDir,
    });
    expect(second).toEqual({ ...first, cached: true });
  }, 120_000);
});
