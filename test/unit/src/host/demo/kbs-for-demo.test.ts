import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { releasedResources } from '#src/host/demo/kbs-for-demo.js';

describe('releasedResources', () => {
  test('lists each released resource once, in order, skipping other and broken lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-cc-demo-kbs-'));
    try {
      const log = join(dir, 'kbs.log');
      writeFileSync(
        log,
        [
          '{"level":"info","msg":"resource set","resource":"default/demo/secret"}',
          '{"level":"info","msg":"resource released","resource":"default/image-kek/demo"}',
          'not json "resource released"',
          '{"level":"info","msg":"resource released","resource":"default/image-kek/demo"}',
          '{"level":"info","msg":"resource denied by policy","resource":"default/x/y"}',
          '{"level":"info","msg":"resource released","resource":"default/demo/secret"}',
          '{"level":"info","msg":"resource released","resource":7}',
        ].join('\n'),
      );
      expect(releasedResources(log)).toEqual(['default/image-kek/demo', 'default/demo/secret']);
      expect(releasedResources(join(dir, 'none.log'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
