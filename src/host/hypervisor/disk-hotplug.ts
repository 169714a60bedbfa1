import { existsSync } from 'node:fs';
import { abortable, withDeadline, type Logger } from '#src/lib/index.js';
import { HypervisorError } from './errors.js';
import { checkDiskId } from './qemu-args.js';
import type { QmpEvent } from './qmp-client.js';
import type { DiskSpec } from './vm-spec.js';

/** What the hot-plug needs from a QMP connection (QmpClient fits). */
export interface HotplugQmp {
  execute(
    command: string,
    args?: Readonly<Record<string, unknown>>,
    options?: { readonly signal?: AbortSignal | undefined },
  ): Promise<unknown>;
  onEvent(listener: (e: QmpEvent) => void): () => void;
}

export interface DetachDiskOptions {
  readonly signal?: AbortSignal | undefined;
  /** Bound on device_del → DEVICE_DELETED (the guest must release the device; default 30 s). */
  readonly timeoutMs?: number | undefined;
}

/** QMP node-name and device id of a hot-plugged disk (the virtio-blk serial stays `id`). */
export function hotplugNodeName(id: string): string {
  return `hp-${id}`;
}

/**
 * Read-only or read-write virtio-blk disks hot-plugged into free PCIe root ports of a running q35
 * VM: `blockdev-add` (raw over file) then `device_add virtio-blk-pci` with serial = disk id;
 * detach is `device_del`, wait for DEVICE_DELETED, `blockdev-del`.
 */
export class DiskHotplug {
  readonly #qmp: HotplugQmp;
  readonly #log: Logger;
  /** port id → disk id, or undefined when free. */
  readonly #ports: Map<string, string | undefined>;

  constructor(qmp: HotplugQmp, ports: readonly string[], log: Logger) {
    this.#qmp = qmp;
    this.#log = log;
    this.#ports = new Map(ports.map((p) => [p, undefined]));
  }

  /** Ids of the disks plugged now. */
  get attached(): string[] {
    return [...this.#ports.values()].filter((v): v is string => v !== undefined);
  }

  async attach(
    disk: DiskSpec,
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<void> {
    checkDiskId(disk.id);
    if (this.attached.includes(disk.id))
      throw new HypervisorError(
        'already_exists',
        'ERR_VM_HOTPLUG',
        `disk ${disk.id} is already attached`,
      );
    if (!existsSync(disk.path))
      throw new HypervisorError(
        'not_found',
        'ERR_VM_SPEC',
        `disk ${disk.id}: ${disk.path} does not exist`,
      );
    const port = [...this.#ports].find(([, v]) => v === undefined)?.[0];
    if (port === undefined)
      throw new HypervisorError(
        'resource_exhausted',
        'ERR_VM_HOTPLUG',
        `disk ${disk.id}: all ${this.#ports.size} hot-plug ports are in use (detach a disk first)`,
      );
    const node = hotplugNodeName(disk.id);
    const ro = disk.readonly;
    this.#ports.set(port, disk.id);
    try {
      await this.#qmp.execute(
        'blockdev-add',
        {
          driver: disk.format ?? 'raw',
          'node-name': node,
          'read-only': ro,
          file: { driver: 'file', filename: disk.path, 'read-only': ro },
        },
        options,
      );
    } catch (err) {
      this.#ports.set(port, undefined);
      throw err;
    }
    try {
      await this.#qmp.execute(
        'device_add',
        { driver: 'virtio-blk-pci', id: node, drive: node, serial: disk.id, bus: port },
        options,
      );
    } catch (err) {
      this.#ports.set(port, undefined);
      await this.#qmp.execute('blockdev-del', { 'node-name': node }).catch((e: unknown) => {
        this.#log.warn('blockdev-del after a failed device_add failed', {
          disk: disk.id,
          error: e,
        });
      });
      throw err;
    }
    this.#log.info('disk attached', { disk: disk.id, port, readonly: ro });
  }

  async detach(id: string, options: DetachDiskOptions = {}): Promise<void> {
    const port = [...this.#ports].find(([, v]) => v === id)?.[0];
    if (port === undefined)
      throw new HypervisorError('not_found', 'ERR_VM_HOTPLUG', `disk ${id} is not hot-plugged`);
    const node = hotplugNodeName(id);
    const signal = withDeadline(options.timeoutMs ?? 30_000, options.signal);
    let off: (() => void) | undefined;
    const deleted = new Promise<void>((resolve) => {
      off = this.#qmp.onEvent((e) => {
        const d = e.data as { device?: unknown } | undefined;
        if (e.event === 'DEVICE_DELETED' && d?.device === node) resolve();
      });
    });
    try {
      await this.#qmp.execute('device_del', { id: node }, { signal });
      await abortable(deleted, signal, `detaching disk ${id} (waiting for DEVICE_DELETED)`);
    } finally {
      off?.();
    }
    await this.#qmp.execute('blockdev-del', { 'node-name': node }, { signal });
    this.#ports.set(port, undefined);
    this.#log.info('disk detached', { disk: id, port });
  }
}
