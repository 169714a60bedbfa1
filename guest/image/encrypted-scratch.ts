import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { processEnv, runProgram, sleep, type Logger } from '#src/lib/index.js';
import type { Mounter } from '#guest/sandbox/index.js';
import { ImageError } from './errors.js';
import { allocateIn, usageOf, type ImageStore, type StoreUsage } from './image-store.js';

export interface EncryptedScratchOptions {
  /** virtio-blk serial of the scratch disk the host attaches (`kata-scratch`). */
  readonly serial: string;
  readonly sysfs: string;
  /** Where the encrypted filesystem is mounted (agent-private, outside the storage root). */
  readonly mountDir: string;
  /** Device-mapper name of the opened volume. */
  readonly mapperName: string;
  readonly cryptsetupBinary: string;
  readonly mkfsBinary: string;
  readonly mounter: Mounter;
  /** How long to look for the disk (it is attached at boot, so this is short). */
  readonly deviceTimeoutMs: number;
  readonly log: Logger;
}

/** Bytes at the start of the volume written with zeros before mkfs (superblock, boot sector). */
export const ZEROED_HEAD_BYTES = 4 << 20;

/**
 * Writes zeros over the head of the freshly opened volume: with `--integrity-no-wipe` a sector
 * that was never written fails to read (no valid tag), and mkfs reads and partially rewrites the
 * first blocks. Everything else mkfs and ext4 write as whole blocks.
 */
async function zeroHead(device: string): Promise<void> {
  const fh = await open(device, 'r+');
  try {
    const zeros = Buffer.alloc(1 << 20);
    for (let off = 0; off < ZEROED_HEAD_BYTES; off += zeros.length)
      await fh.write(zeros, 0, zeros.length, off);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** LUKS2 with dm-integrity: AES-XTS for secrecy, HMAC-SHA256 per 4 KiB sector for integrity. */
const LUKS_FORMAT = [
  'luksFormat',
  '--batch-mode',
  '--type',
  'luks2',
  '--cipher',
  'aes-xts-plain64',
  '--integrity',
  'hmac-sha256',
  // Nothing is read before it is written (a fresh filesystem), so the slow initial wipe is skipped.
  '--integrity-no-wipe',
  '--sector-size',
  '4096',
  // The passphrase is 64 random bytes: key stretching adds nothing but minutes under TCG.
  '--pbkdf',
  'pbkdf2',
  '--pbkdf-force-iterations',
  '1000',
  '--key-file',
  '-',
];

/**
 * The guest's image storage on a host-provided scratch disk that the host cannot read: at first
 * use the disk is formatted as LUKS2 with dm-integrity under a random key made here (it is never
 * written anywhere and dies with the VM), opened, given a fresh ext4, and mounted. The host sees
 * only ciphertext and integrity tags; a block it changes fails to read (EIO) instead of feeding
 * the guest forged data (upstream's "trusted ephemeral storage").
 */
export class EncryptedScratchStore implements ImageStore {
  readonly #o: EncryptedScratchOptions;
  #ready: Promise<string> | undefined;
  readonly description: string;

  constructor(options: EncryptedScratchOptions) {
    this.#o = options;
    this.description = `encrypted scratch disk (serial ${options.serial})`;
  }

  async allocate(containerId: string, signal?: AbortSignal): Promise<string> {
    return allocateIn(await this.#prepare(signal), containerId);
  }

  #prepare(signal?: AbortSignal): Promise<string> {
    this.#ready ??= this.#setup(signal).catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  usage(): Promise<StoreUsage | undefined> {
    return this.#ready === undefined ? Promise.resolve(undefined) : usageOf(this.#o.mountDir);
  }

  async #setup(signal?: AbortSignal): Promise<string> {
    const t0 = Date.now();
    const o = this.#o;
    const device = await this.#findDisk(signal);
    const env = { ...processEnv(), DM_DISABLE_UDEV: '1' };
    const key = randomBytes(64);
    const steps: Record<string, number> = {};
    try {
      await this.#run([o.cryptsetupBinary, ...LUKS_FORMAT, device], key, env, signal);
      steps['format_ms'] = Date.now() - t0;
      await this.#run(
        [o.cryptsetupBinary, 'open', '--type', 'luks2', '--key-file', '-', device, o.mapperName],
        key,
        env,
        signal,
      );
    } finally {
      key.fill(0);
    }
    steps['open_ms'] = Date.now() - t0;
    const mapped = `/dev/mapper/${o.mapperName}`;
    await zeroHead(mapped);
    await this.#run(
      [
        o.mkfsBinary,
        '-q',
        '-F',
        '-m',
        '0',
        // no backup superblocks or resize blocks: they are written as partial blocks, and a
        // partial write reads the rest of the block first, which fails on an unwritten sector
        '-O',
        'sparse_super2,^resize_inode',
        '-E',
        'num_backup_sb=0,nodiscard,lazy_itable_init=1,lazy_journal_init=1',
        mapped,
      ],
      undefined,
      env,
      signal,
    );
    steps['mkfs_ms'] = Date.now() - t0;
    await mkdir(o.mountDir, { recursive: true, mode: 0o700 });
    await o.mounter.mount(mapped, o.mountDir, 'ext4', ['noatime']);
    o.log.info('encrypted image storage ready', {
      device,
      mapper: mapped,
      ms: Date.now() - t0,
      ...steps,
      ...(await usageOf(o.mountDir)),
    });
    return o.mountDir;
  }

  async #run(
    argv: readonly string[],
    input: Uint8Array | undefined,
    env: Record<string, string | undefined>,
    signal?: AbortSignal,
  ): Promise<void> {
    try {
      await runProgram(argv, {
        env,
        input,
        signal,
        debianPackage: argv[0]?.endsWith('cryptsetup') ? 'cryptsetup-bin' : 'e2fsprogs',
      });
    } catch (err) {
      throw new ImageError(
        'internal',
        'ERR_IMAGE_SCRATCH',
        `cannot prepare the encrypted image storage on the scratch disk: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }

  /** The /dev node of the disk with our serial, if it is there now. */
  async #lookup(): Promise<string | undefined> {
    const blocks = await readdir(join(this.#o.sysfs, 'block')).catch(() => [] as string[]);
    for (const b of blocks.filter((n) => /^vd[a-z]+$/.test(n))) {
      const serial = await readFile(join(this.#o.sysfs, 'block', b, 'serial'), 'utf8').catch(
        () => '',
      );
      const isBlock = await stat(`/dev/${b}`).then(
        (s) => s.isBlockDevice(),
        () => false,
      );
      if (serial.trim() === this.#o.serial && isBlock) return `/dev/${b}`;
    }
    return undefined;
  }

  async #findDisk(signal?: AbortSignal): Promise<string> {
    const deadline = Date.now() + this.#o.deviceTimeoutMs;
    for (;;) {
      const found = await this.#lookup();
      if (found !== undefined) return found;
      if (Date.now() > deadline)
        throw new ImageError(
          'failed_precondition',
          'ERR_IMAGE_SCRATCH',
          `no scratch disk with serial ${this.#o.serial} for guest-pulled images: the host must attach one (kata-cc: runtime.guest_pull_disk_mib); images are never unpacked into guest memory`,
        );
      await sleep(100, signal);
    }
  }
}
