import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isSystemError } from '#src/lib/index.js';
import { OciError } from './errors.js';

/**
 * A staging directory next to the destination: the rootfs is built there and moved into place
 * by one rename only after every layer was verified, so a failed pull leaves nothing behind.
 */
export class StagedRootfs {
  readonly dest: string;
  readonly staging: string;
  #done = false;

  private constructor(dest: string, staging: string) {
    this.dest = dest;
    this.staging = staging;
  }

  /** Refuses a destination that exists and is not an empty directory. */
  static async create(destDir: string): Promise<StagedRootfs> {
    const dest = resolve(destDir);
    try {
      const names = await readdir(dest);
      if (names.length > 0)
        throw new OciError(
          'already_exists',
          'ERR_OCI_DESTINATION',
          `destination ${dest} exists and is not empty`,
        );
    } catch (err) {
      if (isSystemError(err, 'ENOTDIR'))
        throw new OciError(
          'already_exists',
          'ERR_OCI_DESTINATION',
          `destination ${dest} exists and is not a directory`,
        );
      if (!isSystemError(err, 'ENOENT')) throw err;
    }
    await mkdir(dirname(dest), { recursive: true });
    const staging = await mkdtemp(join(dirname(dest), `.${basename(dest)}.partial-`));
    return new StagedRootfs(dest, staging);
  }

  /** Moves the finished rootfs into place (replacing an empty destination directory). */
  async commit(): Promise<void> {
    await rename(this.staging, this.dest);
    this.#done = true;
  }

  /** Removes the staging directory unless committed; idempotent. */
  async discard(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await rm(this.staging, { recursive: true, force: true });
  }
}
