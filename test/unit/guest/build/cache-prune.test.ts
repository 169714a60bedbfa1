import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { pruneImageCache } from '#guest/build/cache-prune.js';

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function image(cache: string, n: number, ageS: number): string {
  const name = n.toString(16).padStart(24, '0');
  mkdirSync(join(cache, name));
  writeFileSync(join(cache, name, 'manifest.json'), '{}');
  const t = new Date(Date.now() - ageS * 1000);
  utimesSync(join(cache, name, 'manifest.json'), t, t);
  return name;
}

describe('pruneImageCache', () => {
  test('keeps the most recent images and the protected ones, skips locked ones and other files', () => {
    dir = mkdtempSync(join(tmpdir(), 'kata-prune-'));
    const names = [1, 2, 3, 4, 5, 6, 7].map((n) => image(dir!, n, n * 10));
    writeFileSync(join(dir, `${names[5]!}.lock`), '1\n');
    mkdirSync(join(dir, 'kernel'));
    const removed = pruneImageCache(dir, [names[0]!, names[6]!], 4);
    expect(removed.sort()).toEqual([names[3]!, names[4]!].sort());
    for (const n of [names[0], names[1], names[2], names[5], names[6]])
      expect(existsSync(join(dir, n!))).toBe(true);
    expect(existsSync(join(dir, 'kernel'))).toBe(true);
  });
});
