import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { DiskHotplug, QmpClient } from '#src/host/hypervisor/index.js';
import { NULL_LOGGER } from '#src/lib/index.js';

interface Cmd {
  readonly execute: string;
  readonly arguments?: Record<string, unknown>;
  readonly id: number;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A fake QEMU monitor: greeting, then answers per `handle` (undefined = no answer). */
async function fakeQmp(
  handle: (cmd: Cmd, s: Socket) => unknown,
): Promise<{ path: string; dir: string; received: Cmd[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'kata-hp-'));
  const path = join(dir, 'qmp.sock');
  const received: Cmd[] = [];
  const sockets: Socket[] = [];
  const server: Server = createServer((s) => {
    sockets.push(s);
    s.write(
      '{"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}}, "capabilities": []}}\r\n',
    );
    let buf = '';
    s.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const cmd = JSON.parse(buf.slice(0, nl)) as Cmd;
        buf = buf.slice(nl + 1);
        if (cmd.execute !== 'qmp_capabilities') received.push(cmd);
        const r = cmd.execute === 'qmp_capabilities' ? { return: {} } : handle(cmd, s);
        if (r !== undefined) s.write(JSON.stringify({ ...(r as object), id: cmd.id }) + '\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) =>
      server.close(() => {
        r();
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  });
  return { path, dir, received };
}

async function setup(handle: (cmd: Cmd, s: Socket) => unknown, ports = ['kata-rp0', 'kata-rp1']) {
  const fake = await fakeQmp(handle);
  const qmp = await QmpClient.connect(fake.path);
  cleanups.push(() => qmp.close());
  const img = join(fake.dir, 'c1.erofs');
  writeFileSync(img, 'x');
  return { fake, img, hp: new DiskHotplug(qmp, ports, NULL_LOGGER) };
}

/** Answers every command; device_del also emits DEVICE_DELETED like QEMU after the guest lets go. */
function qemuLike(cmd: Cmd, s: Socket): unknown {
  if (cmd.execute === 'device_del') {
    setTimeout(() => {
      s.write(
        JSON.stringify({
          event: 'DEVICE_DELETED',
          data: { device: cmd.arguments?.['id'], path: '/machine/peripheral/x' },
          timestamp: { seconds: 1, microseconds: 0 },
        }) + '\r\n',
      );
    }, 20);
  }
  return { return: {} };
}

describe('DiskHotplug', () => {
  test('attaches a read-only disk with blockdev-add then device_add into the first free port', async () => {
    const { fake, img, hp } = await setup(qemuLike);
    await hp.attach({ id: 'c1', path: img, readonly: true });
    expect(fake.received).toEqual([
      {
        execute: 'blockdev-add',
        arguments: {
          driver: 'raw',
          'node-name': 'hp-c1',
          'read-only': true,
          file: { driver: 'file', filename: img, 'read-only': true },
        },
        id: expect.any(Number) as number,
      },
      {
        execute: 'device_add',
        arguments: {
          driver: 'virtio-blk-pci',
          id: 'hp-c1',
          drive: 'hp-c1',
          serial: 'c1',
          bus: 'kata-rp0',
        },
        id: expect.any(Number) as number,
      },
    ]);
    await hp.attach({ id: 'c2', path: img, readonly: true });
    expect(fake.received[3]?.arguments?.['bus']).toBe('kata-rp1');
    expect(hp.attached).toEqual(['c1', 'c2']);
  });

  test('detaches with device_del, waits for DEVICE_DELETED, then blockdev-del, freeing the port', async () => {
    const { fake, img, hp } = await setup(qemuLike, ['kata-rp0']);
    await hp.attach({ id: 'c1', path: img, readonly: true });
    await hp.detach('c1');
    expect(fake.received.slice(2).map((c) => [c.execute, c.arguments])).toEqual([
      ['device_del', { id: 'hp-c1' }],
      ['blockdev-del', { 'node-name': 'hp-c1' }],
    ]);
    expect(hp.attached).toEqual([]);
    await hp.attach({ id: 'c2', path: img, readonly: true });
    expect(fake.received.at(-1)?.arguments?.['bus']).toBe('kata-rp0');
  });

  test('refuses a disk when every port is in use, and a duplicate id', async () => {
    const { img, hp } = await setup(qemuLike, ['kata-rp0']);
    await hp.attach({ id: 'c1', path: img, readonly: true });
    await expect(hp.attach({ id: 'c1', path: img, readonly: true })).rejects.toMatchObject({
      code: 'ERR_VM_HOTPLUG',
      kind: 'already_exists',
    });
    await expect(hp.attach({ id: 'c2', path: img, readonly: true })).rejects.toMatchObject({
      code: 'ERR_VM_HOTPLUG',
      kind: 'resource_exhausted',
    });
  });

  test('removes the block node again when device_add fails', async () => {
    const { fake, img, hp } = await setup((cmd, s) =>
      cmd.execute === 'device_add'
        ? { error: { class: 'GenericError', desc: 'Bus kata-rp0 does not support hotplugging' } }
        : qemuLike(cmd, s),
    );
    await expect(hp.attach({ id: 'c1', path: img, readonly: true })).rejects.toMatchObject({
      code: 'ERR_QMP_COMMAND',
    });
    expect(fake.received.map((c) => c.execute)).toEqual([
      'blockdev-add',
      'device_add',
      'blockdev-del',
    ]);
    expect(hp.attached).toEqual([]);
  });

  test('fails deadline_exceeded when the guest never releases the device, keeping the port busy', async () => {
    const { fake, img, hp } = await setup(() => ({ return: {} }), ['kata-rp0']);
    await hp.attach({ id: 'c1', path: img, readonly: true });
    await expect(hp.detach('c1', { timeoutMs: 100 })).rejects.toMatchObject({
      kind: 'deadline_exceeded',
    });
    expect(fake.received.map((c) => c.execute)).not.toContain('blockdev-del');
    expect(hp.attached).toEqual(['c1']);
  });

  test('refuses a missing image, a bad id and detaching an unknown disk before any QMP call', async () => {
    const { fake, hp } = await setup(qemuLike);
    await expect(
      hp.attach({ id: 'c1', path: '/nonexistent/x', readonly: true }),
    ).rejects.toMatchObject({
      code: 'ERR_VM_SPEC',
      kind: 'not_found',
    });
    await expect(hp.attach({ id: 'bad id', path: '/x', readonly: true })).rejects.toMatchObject({
      code: 'ERR_VM_SPEC',
    });
    await expect(hp.detach('c9')).rejects.toMatchObject({
      code: 'ERR_VM_HOTPLUG',
      kind: 'not_found',
    });
    expect(fake.received).toEqual([]);
  });
});
