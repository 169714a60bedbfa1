import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The timestamped folder name kubelet's atomic writer uses (`..2026_12_02_01_00_00.123456789`). */
export const KUBELET_DATA_DIR = '..2026_12_02_01_00_00.123456789';

/**
 * Lays out `dir` as kubelet's atomic writer does for a Secret/ConfigMap volume: the files in a
 * timestamped hidden folder, `..data` → that folder, and one `<key>` → `..data/<key>` symlink per
 * top-level key (keys with a `/` get their first component linked, as kubelet does).
 */
export function makeKubeletVolume(
  dir: string,
  files: Readonly<Record<string, string | Uint8Array>>,
  mode = 0o644,
): string {
  const data = join(dir, KUBELET_DATA_DIR);
  mkdirSync(data, { recursive: true, mode: 0o755 });
  for (const [key, content] of Object.entries(files)) {
    mkdirSync(dirname(join(data, key)), { recursive: true });
    writeFileSync(join(data, key), content);
    chmodSync(join(data, key), mode);
  }
  symlinkSync(KUBELET_DATA_DIR, join(dir, '..data'));
  const tops = new Set(Object.keys(files).map((k) => k.split('/')[0]!));
  for (const top of tops) symlinkSync(`..data/${top}`, join(dir, top));
  return dir;
}
