import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isSystemError } from '#src/lib/index.js';
import { StoreError } from './errors.js';
import { STORE_NAMESPACES, type KvStore, type StoreNamespace } from './kv-store.js';

/** Largest value accepted (resources are secrets and policies, not images). */
export const STORE_MAX_VALUE = 16 << 20;
const MAX_KEY = 512;
const TMP_PREFIX = '.tmp-';

function keyFile(key: string): string {
  if (key.length === 0 || key.length > MAX_KEY || key.includes('\0'))
    throw new StoreError(
      'invalid_argument',
      'ERR_STORE_KEY',
      `store key ${JSON.stringify(key.slice(0, 40))}: expected 1..${String(MAX_KEY)} characters without NUL`,
    );
  // base64url keeps any key (with '/', '..') a single safe file name.
  return Buffer.from(key, 'utf8').toString('base64url');
}

function ioError(what: string, err: unknown): StoreError {
  return new StoreError(
    'internal',
    'ERR_STORE_IO',
    `${what}: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * The embedded default store: one directory per namespace, one file per key. Writes go to a
 * temporary file that is fsynced, renamed over the target, and the directory fsynced, so an
 * acknowledged write survives a crash and a torn write is never visible.
 */
export class FileStore implements KvStore {
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  /** Opens (creating) the store directory and removes temporary files left by a crash. */
  static async open(root: string): Promise<FileStore> {
    try {
      for (const ns of STORE_NAMESPACES) {
        const dir = join(root, ns);
        await mkdir(dir, { recursive: true, mode: 0o700 });
        for (const name of await readdir(dir))
          if (name.startsWith(TMP_PREFIX)) await unlink(join(dir, name));
      }
    } catch (err) {
      throw ioError(`cannot open store ${root}`, err);
    }
    return new FileStore(root);
  }

  async get(ns: StoreNamespace, key: string): Promise<Uint8Array | undefined> {
    const path = join(this.root, ns, keyFile(key));
    try {
      return new Uint8Array(await readFile(path));
    } catch (err) {
      if (isSystemError(err, 'ENOENT')) return undefined;
      throw ioError(`cannot read ${ns}/${key}`, err);
    }
  }

  async put(ns: StoreNamespace, key: string, value: Uint8Array): Promise<void> {
    if (value.byteLength > STORE_MAX_VALUE)
      throw new StoreError(
        'resource_exhausted',
        'ERR_STORE_TOO_LARGE',
        `${ns}/${key}: ${String(value.byteLength)} bytes, limit ${String(STORE_MAX_VALUE)}`,
      );
    const dir = join(this.root, ns);
    const target = join(dir, keyFile(key));
    const tmp = join(dir, `${TMP_PREFIX}${randomBytes(8).toString('hex')}`);
    try {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(value);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, target);
      await fsyncDir(dir);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw ioError(`cannot write ${ns}/${key}`, err);
    }
  }

  async delete(ns: StoreNamespace, key: string): Promise<boolean> {
    const dir = join(this.root, ns);
    try {
      await unlink(join(dir, keyFile(key)));
      await fsyncDir(dir);
      return true;
    } catch (err) {
      if (isSystemError(err, 'ENOENT')) return false;
      throw ioError(`cannot delete ${ns}/${key}`, err);
    }
  }

  async list(ns: StoreNamespace): Promise<string[]> {
    try {
      const names = await readdir(join(this.root, ns));
      return names
        .filter((n) => !n.startsWith(TMP_PREFIX))
        .map((n) => Buffer.from(n, 'base64url').toString('utf8'))
        .sort();
    } catch (err) {
      throw ioError(`cannot list ${ns}`, err);
    }
  }
}

/** A volatile store for tests and `--store` omitted runs. */
export class MemoryStore implements KvStore {
  readonly #data = new Map<string, Uint8Array>();
  get(ns: StoreNamespace, key: string): Promise<Uint8Array | undefined> {
    const v = this.#data.get(`${ns}\0${key}`);
    return Promise.resolve(v ? new Uint8Array(v) : undefined);
  }
  put(ns: StoreNamespace, key: string, value: Uint8Array): Promise<void> {
    keyFile(key);
    this.#data.set(`${ns}\0${key}`, new Uint8Array(value));
    return Promise.resolve();
  }
  delete(ns: StoreNamespace, key: string): Promise<boolean> {
    return Promise.resolve(this.#data.delete(`${ns}\0${key}`));
  }
  list(ns: StoreNamespace): Promise<string[]> {
    const p = `${ns}\0`;
    return Promise.resolve(
      [...this.#data.keys()]
        .filter((k) => k.startsWith(p))
        .map((k) => k.slice(p.length))
        .sort(),
    );
  }
}
