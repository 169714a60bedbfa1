import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir as osTmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh private directory; `remove()` deletes it and everything in it. */
export function tmpdir(prefix = 'kata-cc-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(osTmpdir(), prefix));
  return {
    path,
    remove: () => {
      rmSync(path, { recursive: true, force: true });
    },
  };
}
