import { randomBytes } from 'node:crypto';
import { mkdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';

/** Where guest-pulled images are unpacked. */
export interface ImageStore {
  /** A new empty directory on the store for one container's image (prepares the store once). */
  allocate(containerId: string, signal?: AbortSignal): Promise<string>;
  /** Capacity and free space of the store, for "does not fit" errors. */
  usage(): Promise<StoreUsage | undefined>;
  /** Human-readable description for logs and errors. */
  readonly description: string;
}

export interface StoreUsage {
  readonly totalBytes: number;
  readonly freeBytes: number;
}

export async function usageOf(dir: string): Promise<StoreUsage | undefined> {
  try {
    const s = await statfs(dir);
    return { totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
  } catch {
    return undefined;
  }
}

export async function allocateIn(root: string, containerId: string): Promise<string> {
  const dir = join(root, `${containerId}-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: false, mode: 0o700 });
  return dir;
}

/**
 * A plain directory as the image store: for host-side tools and tests. The guest agent uses
 * `EncryptedScratchStore` (the host must never read the unpacked images).
 */
export class DirectoryImageStore implements ImageStore {
  readonly #root: string;
  readonly description: string;

  constructor(root: string) {
    this.#root = root;
    this.description = `directory ${root}`;
  }

  async allocate(containerId: string): Promise<string> {
    await mkdir(this.#root, { recursive: true, mode: 0o700 });
    return allocateIn(this.#root, containerId);
  }

  usage(): Promise<StoreUsage | undefined> {
    return usageOf(this.#root);
  }
}
