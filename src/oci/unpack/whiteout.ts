import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isSystemError } from '#src/lib/index.js';
import type { RootfsResolver } from './entry-path.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

/** Removes `parts` (a `.wh.<name>` target) recursively, never following symlinks. */
export async function applyWhiteout(
  resolver: RootfsResolver,
  parts: readonly string[],
  name: string,
): Promise<void> {
  const target = await resolver.resolve(parts, name);
  if (target === resolver.root) return;
  await rm(target, { recursive: true, force: true });
  resolver.forget();
}

/**
 * Empties directory `dirParts` of everything lower layers put there: children whose path was
 * created by this layer (`createdHere`, rootfs-relative) survive.
 */
export async function applyOpaque(
  resolver: RootfsResolver,
  dirParts: readonly string[],
  name: string,
  createdHere: ReadonlySet<string>,
): Promise<void> {
  const dir = await resolver
    .resolve([...dirParts, 'x'], name)
    .then(() => join(resolver.root, ...dirParts));
  let children: string[];
  try {
    children = await readdir(dir);
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return;
    throw err;
  }
  const prefix = dirParts.join('/');
  for (const child of children) {
    const rel = prefix === '' ? child : `${prefix}/${child}`;
    if (createdHere.has(rel)) continue;
    await rm(join(dir, child), { recursive: true, force: true });
  }
  resolver.forget();
}
