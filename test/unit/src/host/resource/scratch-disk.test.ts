import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createScratchDisk } from '#src/host/resource/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

describe('createScratchDisk', () => {
  let dir: ReturnType<typeof tmpdir>;
  beforeEach(() => {
    dir = tmpdir();
  });
  afterEach(() => {
    dir.remove();
  });

  test('creates a sparse file of the size, private to its owner', async () => {
    const p = await createScratchDisk(join(dir.path, 'scratch.raw'), 4096);
    const st = statSync(p);
    expect(st.size).toBe(4096 * (1 << 20));
    expect(st.blocks * 512).toBeLessThan(1 << 20);
    expect(st.mode & 0o777).toBe(0o600);
  });

  test.each([0, 63, 1.5, -1, 2 ** 21, Number.NaN])('refuses %d MiB', async (mib) => {
    await expect(createScratchDisk(join(dir.path, 'x.raw'), mib)).rejects.toMatchObject({
      kind: 'invalid_argument',
    });
  });

  test('never overwrites an existing file (a planted disk image or link)', async () => {
    const p = join(dir.path, 'scratch.raw');
    writeFileSync(p, 'planted');
    await expect(createScratchDisk(p, 64)).rejects.toMatchObject({ kind: 'internal' });
    expect(statSync(p).size).toBe(7);
  });
});
