import { open, readdir, mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { isSystemError } from '#src/lib/index.js';
import {
  INITDATA_DISK_MAGIC,
  INITDATA_MAX_BYTES,
  decodeInitDataDisk,
  parseInitData,
  type InitData,
} from '#src/tee/index.js';
import { GuestInitDataError } from './errors.js';

/** Where the guest publishes the initdata documents. */
export const INITDATA_RUN_DIR = '/run/kata-cc/initdata';
/** The documents the guest components and the agent read. */
export const INITDATA_FILES = ['aa.toml', 'cdh.toml', 'policy.rego'] as const;
/** The exact initdata TOML (digest input; sent to the KBS as init-data) beside the documents. */
export const INITDATA_TOML_FILE = 'initdata.toml';

export interface FoundInitData {
  readonly device: string;
  readonly initData: InitData;
}

async function readPrefix(path: string, max: number): Promise<Uint8Array | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if (
      isSystemError(err) &&
      ['ENOENT', 'ENXIO', 'ENOMEDIUM', 'EACCES', 'EROFS'].includes(err.code)
    )
      return undefined;
    throw new GuestInitDataError('internal', 'ERR_INITDATA_DISK', `cannot open ${path}`, {
      cause: err,
    });
  }
  try {
    const buf = Buffer.alloc(max);
    const { bytesRead } = await fh.read(buf, 0, max, 0);
    return new Uint8Array(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/**
 * Scans the block devices (`<sysRoot>/sys/class/block/*`, whole disks and partitions, opened as
 * `<devRoot>/dev/<name>`) for the initdata raw disk and returns the first one found, validated
 * (`version`, `algorithm`, `[data]`) with its digest. Undefined when no device carries it.
 */
export async function findInitDataDisk(root = '/'): Promise<FoundInitData | undefined> {
  let names: string[];
  try {
    names = (await readdir(join(root, 'sys', 'class', 'block'))).sort();
  } catch (err) {
    if (isSystemError(err) && err.code === 'ENOENT') return undefined;
    throw new GuestInitDataError('internal', 'ERR_INITDATA_DISK', 'cannot list block devices', {
      cause: err,
    });
  }
  for (const name of names) {
    const device = join(root, 'dev', name);
    const head = await readPrefix(device, 16);
    if (
      head?.length !== 16 ||
      Buffer.from(head.subarray(0, 8)).toString('latin1') !== INITDATA_DISK_MAGIC
    )
      continue;
    const len = new DataView(head.buffer, head.byteOffset, 16).getBigUint64(8, true);
    if (len > BigInt(INITDATA_MAX_BYTES))
      throw new GuestInitDataError(
        'invalid_argument',
        'ERR_INITDATA_DISK',
        `initdata disk ${device}: length ${String(len)} exceeds ${String(INITDATA_MAX_BYTES)} bytes`,
      );
    const disk = (await readPrefix(device, 16 + Number(len))) ?? new Uint8Array(0);
    try {
      return { device, initData: parseInitData(decodeInitDataDisk(disk)) };
    } catch (err) {
      throw new GuestInitDataError(
        'invalid_argument',
        'ERR_INITDATA_DISK',
        `initdata disk ${device}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
  return undefined;
}

/**
 * Writes `aa.toml`, `cdh.toml`, `policy.rego` (those present) and the whole `initdata.toml` to
 * `dir`, mode 0600, atomically.
 */
export async function writeInitDataFiles(
  initData: InitData,
  dir = INITDATA_RUN_DIR,
): Promise<string[]> {
  const written: string[] = [];
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const name of INITDATA_FILES) {
      const text = initData.data[name];
      if (text === undefined) continue;
      const path = join(dir, name);
      await writeFile(`${path}.tmp`, text, { mode: 0o600 });
      await rename(`${path}.tmp`, path);
      written.push(path);
    }
    const whole = join(dir, INITDATA_TOML_FILE);
    await writeFile(`${whole}.tmp`, initData.toml, { mode: 0o600 });
    await rename(`${whole}.tmp`, whole);
    written.push(whole);
  } catch (err) {
    throw new GuestInitDataError(
      'internal',
      'ERR_INITDATA_WRITE',
      `cannot write initdata files to ${dir}`,
      { cause: err },
    );
  }
  return written;
}

/** The initdata the agent published at boot (`<dir>/initdata.toml`), validated; undefined if none. */
export async function readPublishedInitData(dir = INITDATA_RUN_DIR): Promise<InitData | undefined> {
  const path = join(dir, INITDATA_TOML_FILE);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    if (isSystemError(err) && err.code === 'ENOENT') return undefined;
    throw new GuestInitDataError('internal', 'ERR_INITDATA_DISK', `cannot read ${path}`, {
      cause: err,
    });
  }
  try {
    return parseInitData(bytes);
  } catch (err) {
    throw new GuestInitDataError(
      'invalid_argument',
      'ERR_INITDATA_DISK',
      `${path}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}
