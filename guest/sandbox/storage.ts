import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from '#src/lib/index.js';
import { SandboxError, invalidInput } from './errors.js';
import type { Mounter } from './mounter.js';
import type { StorageSpec } from './types.js';
import { checkAbsolutePath, isWithin } from './validate.js';

/** Read-only filesystems accepted on a host-provided block device. */
const BLOCK_FSTYPES = ['erofs', 'ext4'] as const;
const BLOCK_DRIVERS = ['blk', 'virtio-blk'];
const PCI_PATH = /^[0-9a-f]{2}(\/[0-9a-f]{2}){0,3}$/;
/** `serial:<id>`: the virtio-blk disk whose serial is `<id>` (hot-plugged by the host). */
const SERIAL_SOURCE = /^serial:([A-Za-z0-9_-]{1,20})$/;
/** Bound on waiting for a hot-plugged disk (PCIe hot-plug under TCG can take seconds). */
export const SERIAL_WAIT_MIN_MS = 30_000;
/** After this long without the disk, ask the kernel once to rescan the PCI bus. */
const RESCAN_AFTER_MS = 2_000;

/** Kata's storage driver for an image the guest pulls itself (`source` = image reference). */
export const GUEST_PULL_DRIVER = 'image_guest_pull';

/** What an `image_guest_pull` storage left behind: unmounted and removed by `releaseStorage`. */
export interface GuestPullMount {
  readonly mounts: readonly string[];
  readonly dirs: readonly string[];
  /** Called once after the mounts and dirs are gone (e.g. drops a shared image's reference). */
  readonly release?: (() => Promise<void>) | undefined;
}

/**
 * Pulls a container image in the guest and mounts its rootfs at the storage's mount point
 * (implemented by guest/image, wired in by main). The sandbox only dispatches to it.
 */
export interface GuestPullHandler {
  mount(spec: StorageSpec, containerId: string, signal?: AbortSignal): Promise<GuestPullMount>;
}

export interface StorageOptions {
  readonly mounter: Mounter;
  /** Every storage mount point must lie inside this directory. */
  readonly storageRoot: string;
  /** Refuse host-provided rootfs/block storage (confidential sandbox). */
  readonly confidential: boolean;
  /** sysfs root, for resolving PCI paths to block devices. */
  readonly sysfs: string;
  readonly deviceTimeoutMs: number;
  /** Handler of `image_guest_pull`; without one that driver is unimplemented. */
  readonly guestPull?: GuestPullHandler | undefined;
  /** The container the storages belong to (undefined for CreateSandbox storages). */
  readonly containerId?: string | undefined;
}

/** One mounted storage, unmounted in reverse order by `release`. */
export interface MountedStorage {
  readonly spec: StorageSpec;
  readonly mounts: readonly string[];
  readonly dirs: readonly string[];
  /** Run after the unmounts and removals succeeded (`GuestPullMount.release`). */
  readonly release?: (() => Promise<void>) | undefined;
}

/**
 * Mounts the storages of a CreateContainer/CreateSandbox request. `blk`/`virtio-blk`: a read-only
 * erofs (or ext4) image from the host, mounted read-only with a tmpfs-backed overlay on top at the
 * mount point; refused in a confidential sandbox. `ephemeral`: a tmpfs. `local`: an empty dir.
 * `image_guest_pull`: the image named by `source`, pulled in the guest (see GuestPullHandler).
 */
export async function mountStorage(
  s: StorageSpec,
  o: StorageOptions,
  signal?: AbortSignal,
): Promise<MountedStorage> {
  const target = checkAbsolutePath(s.mountPoint, 'storage.mount_point');
  if (!isWithin(target, o.storageRoot) || target === o.storageRoot)
    throw invalidInput(`storage.mount_point: ${target} is outside ${o.storageRoot}`);
  if (s.driver === GUEST_PULL_DRIVER) return mountGuestPull(s, o, signal);
  if (BLOCK_DRIVERS.includes(s.driver)) {
    if (o.confidential)
      throw new SandboxError(
        'permission_denied',
        'ERR_SANDBOX_REFUSED',
        `storage driver ${s.driver} (host-provided filesystem) is refused in a confidential sandbox`,
      );
    return mountBlockOverlay(s, target, o, signal);
  }
  if (s.driver === 'ephemeral') {
    await mkdir(target, { recursive: true });
    await o.mounter.mount('tmpfs', target, 'tmpfs', ['nodev', 'nosuid']);
    return { spec: s, mounts: [target], dirs: [target] };
  }
  if (s.driver === 'local') {
    await mkdir(target, { recursive: true, mode: 0o777 });
    return { spec: s, mounts: [], dirs: [target] };
  }
  throw new SandboxError(
    'unimplemented',
    'ERR_SANDBOX_STORAGE',
    `storage driver ${JSON.stringify(s.driver)} is not supported (supported: blk, virtio-blk, ephemeral, local, ${GUEST_PULL_DRIVER})`,
  );
}

async function mountGuestPull(
  s: StorageSpec,
  o: StorageOptions,
  signal?: AbortSignal,
): Promise<MountedStorage> {
  if (o.guestPull === undefined)
    throw new SandboxError(
      'unimplemented',
      'ERR_SANDBOX_STORAGE',
      `storage driver ${GUEST_PULL_DRIVER}: this agent has no image puller`,
    );
  if (o.containerId === undefined)
    throw invalidInput(
      `storage driver ${GUEST_PULL_DRIVER} names a container image: it belongs in CreateContainer, not CreateSandbox`,
    );
  const m = await o.guestPull.mount(s, o.containerId, signal);
  return { spec: s, mounts: m.mounts, dirs: m.dirs, release: m.release };
}

async function mountBlockOverlay(
  s: StorageSpec,
  target: string,
  o: StorageOptions,
  signal?: AbortSignal,
): Promise<MountedStorage> {
  const fstype = (BLOCK_FSTYPES as readonly string[]).includes(s.fstype) ? s.fstype : undefined;
  if (!fstype)
    throw invalidInput(
      `storage.fstype: ${JSON.stringify(s.fstype)} is not accepted for a block device (use erofs or ext4)`,
    );
  const device = await resolveBlockDevice(s.source, o, signal);
  const base = `${target}.layers`;
  const lower = join(base, 'lower');
  const rw = join(base, 'rw');
  const mounts: string[] = [];
  const done = { spec: s, mounts, dirs: [target, base] };
  try {
    for (const d of [lower, rw, target]) await mkdir(d, { recursive: true });
    await o.mounter.mount(device, lower, fstype, ['ro']);
    mounts.push(lower);
    await o.mounter.mount('tmpfs', rw, 'tmpfs', ['mode=0755']);
    mounts.push(rw);
    await mkdir(join(rw, 'upper'));
    await mkdir(join(rw, 'work'));
    await o.mounter.mount('overlay', target, 'overlay', [
      `lowerdir=${lower}`,
      `upperdir=${join(rw, 'upper')}`,
      `workdir=${join(rw, 'work')}`,
    ]);
    mounts.push(target);
    return done;
  } catch (err) {
    await releaseStorage(done, o.mounter);
    throw err;
  }
}

/**
 * `/dev/vdX` as given, `serial:<id>` (the virtio-blk disk with that serial, waited for), or a Kata
 * PCI path (`02/00`) resolved through sysfs.
 */
export async function resolveBlockDevice(
  source: string,
  o: StorageOptions,
  signal?: AbortSignal,
): Promise<string> {
  if (source.startsWith('/dev/')) {
    const dev = checkAbsolutePath(source, 'storage.source');
    try {
      if (!(await stat(dev)).isBlockDevice())
        throw invalidInput(`storage.source: ${dev} is not a block device`);
    } catch (err) {
      if (err instanceof SandboxError) throw err;
      throw new SandboxError(
        'not_found',
        'ERR_SANDBOX_STORAGE',
        `storage.source: ${dev} does not exist`,
      );
    }
    return dev;
  }
  const serial = SERIAL_SOURCE.exec(source)?.[1];
  if (serial !== undefined) return waitForSerial(serial, o, signal);
  if (!PCI_PATH.test(source))
    throw invalidInput(
      `storage.source: ${JSON.stringify(source)} is neither /dev/<name>, serial:<id> nor a PCI path like 02/00`,
    );
  const deadline = Date.now() + o.deviceTimeoutMs;
  for (;;) {
    const name = await findPciBlock(source, o.sysfs);
    if (name) return `/dev/${name}`;
    if (Date.now() > deadline)
      throw new SandboxError(
        'not_found',
        'ERR_SANDBOX_STORAGE',
        `no block device appeared at PCI path ${source}`,
      );
    await sleep(20, signal);
  }
}

/** The /dev/vdX whose virtio-blk serial is `serial`; polls sysfs, rescanning the PCI bus once. */
async function waitForSerial(
  serial: string,
  o: StorageOptions,
  signal?: AbortSignal,
): Promise<string> {
  const t0 = Date.now();
  const deadline = t0 + Math.max(o.deviceTimeoutMs, SERIAL_WAIT_MIN_MS);
  let rescanned = false;
  for (;;) {
    const name = await findBySerial(serial, o.sysfs);
    if (name !== undefined) {
      const dev = `/dev/${name}`;
      const isBlock = await stat(dev).then(
        (st) => st.isBlockDevice(),
        () => false,
      );
      if (isBlock) return dev;
    }
    if (Date.now() > deadline)
      throw new SandboxError(
        'not_found',
        'ERR_SANDBOX_STORAGE',
        `storage.source: no virtio-blk disk with serial ${serial} appeared within ${String(Date.now() - t0)} ms (was it hot-plugged?)`,
      );
    if (!rescanned && Date.now() - t0 > RESCAN_AFTER_MS) {
      rescanned = true;
      await writeFile(join(o.sysfs, 'bus', 'pci', 'rescan'), '1').catch(() => undefined);
    }
    await sleep(50, signal);
  }
}

async function findBySerial(serial: string, sysfs: string): Promise<string | undefined> {
  const blocks = await readdir(join(sysfs, 'block')).catch(() => [] as string[]);
  for (const b of blocks.filter((n) => /^vd[a-z]+$/.test(n))) {
    const got = await readFile(join(sysfs, 'block', b, 'serial'), 'utf8').catch(() => '');
    if (got.trim() === serial) return b;
  }
  return undefined;
}

async function findPciBlock(pciPath: string, sysfs: string): Promise<string | undefined> {
  const slots = pciPath.split('/');
  let dir = join(sysfs, 'devices', 'pci0000:00');
  let bus = '00';
  for (const slot of slots) {
    const entries = await readdir(dir).catch(() => [] as string[]);
    const dev = entries.find((e) => e.startsWith(`0000:${bus}:${slot}.`));
    if (!dev) return undefined;
    dir = join(dir, dev);
    const children = await readdir(dir).catch(() => [] as string[]);
    const next = children.find((c) => /^0000:[0-9a-f]{2}:/.test(c));
    bus = next ? next.slice(5, 7) : bus;
  }
  const children = await readdir(dir).catch(() => [] as string[]);
  for (const v of children.filter((c) => c.startsWith('virtio'))) {
    const blocks = await readdir(join(dir, v, 'block')).catch(() => [] as string[]);
    if (blocks[0]) return blocks[0];
  }
  return undefined;
}

/** Unmounts in reverse order and removes the directories the storage created (best effort). */
export async function releaseStorage(m: MountedStorage, mounter: Mounter): Promise<string[]> {
  const errors: string[] = [];
  for (const target of [...m.mounts].reverse()) {
    try {
      await mounter.unmount(target);
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (errors.length === 0) {
    for (const d of m.dirs) await rm(d, { recursive: true, force: true }).catch(() => undefined);
    await m.release?.().catch((err: unknown) => {
      errors.push(err instanceof Error ? err.message : String(err));
    });
  }
  return errors;
}
