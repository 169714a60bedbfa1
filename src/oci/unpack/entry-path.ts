import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isSystemError } from '#src/lib/index.js';
import { OciError } from '../errors.js';

export function unsafeEntry(layer: string, name: string, why: string): OciError {
  return new OciError(
    'permission_denied',
    'ERR_OCI_UNSAFE_ENTRY',
    `layer ${layer}: refusing entry ${JSON.stringify(name.slice(0, 300))}: ${why}`,
  );
}

/**
 * The path components of a tar entry name, relative to the rootfs. A leading `/` or `./` is
 * dropped (archives are rooted at the rootfs); `..`, NUL and empty names are refused.
 */
export function entryComponents(name: string, layer: string): string[] {
  if (name.includes('\0')) throw unsafeEntry(layer, name, 'the name contains NUL');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw unsafeEntry(layer, name, 'the name contains a ".." component');
  if (parts.some((p) => Buffer.byteLength(p) > 255))
    throw unsafeEntry(layer, name, 'a component is longer than 255 bytes');
  return parts;
}

/**
 * Resolves entry paths inside one rootfs without ever following a symlink: every parent
 * component is lstat-ed and must be a real directory (missing ones are created 0755). Verified
 * directories are cached until `forget()` is called after something was removed or replaced.
 */
export class RootfsResolver {
  readonly #root: string;
  readonly #layer: string;
  readonly #verified = new Set<string>();

  constructor(root: string, layer: string) {
    this.#root = root;
    this.#layer = layer;
  }

  get root(): string {
    return this.#root;
  }

  /** Drops cached directory checks (after a removal or a type change). */
  forget(): void {
    this.#verified.clear();
  }

  /** The absolute path for `parts`, after making sure all parents are real directories. */
  async resolve(parts: readonly string[], name: string): Promise<string> {
    let rel = '';
    for (let i = 0; i < parts.length - 1; i++) {
      rel = rel === '' ? (parts[i] ?? '') : `${rel}/${parts[i] ?? ''}`;
      if (this.#verified.has(rel)) continue;
      const abs = join(this.#root, rel);
      let st;
      try {
        st = await lstat(abs);
      } catch (err) {
        if (!isSystemError(err, 'ENOENT')) throw err;
        await mkdir(abs, { mode: 0o755 });
        this.#verified.add(rel);
        continue;
      }
      if (st.isSymbolicLink())
        throw unsafeEntry(
          this.#layer,
          name,
          `parent ${JSON.stringify(rel)} is a symlink and is never followed`,
        );
      if (!st.isDirectory())
        throw unsafeEntry(this.#layer, name, `parent ${JSON.stringify(rel)} is not a directory`);
      this.#verified.add(rel);
    }
    return parts.length === 0 ? this.#root : join(this.#root, ...parts);
  }

  /** Marks a directory the unpacker created itself as verified. */
  markDirectory(parts: readonly string[]): void {
    this.#verified.add(parts.join('/'));
  }
}
