import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** How many built images the cache keeps (each is ~120 MB). */
export const KEEP_IMAGES = 4;

/**
 * Removes all but the `keep` most recently built images from the cache, never one in `protect`
 * (the image just built, the one current.json points at) and never one being built (locked).
 */
export function pruneImageCache(
  cacheDir: string,
  protect: readonly string[],
  keep = KEEP_IMAGES,
): string[] {
  const images = readdirSync(cacheDir)
    .filter((n) => /^[0-9a-f]{24}$/.test(n) && existsSync(join(cacheDir, n, 'manifest.json')))
    .map((n) => ({ n, t: statSync(join(cacheDir, n, 'manifest.json')).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  const removed: string[] = [];
  let kept = 0;
  for (const { n } of images) {
    if (protect.includes(n)) continue;
    if (kept < keep - protect.length) {
      kept++;
      continue;
    }
    if (existsSync(join(cacheDir, `${n}.lock`))) continue;
    rmSync(join(cacheDir, n), { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}
