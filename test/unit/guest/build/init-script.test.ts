import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { GUEST_INIT_MARKERS, renderInitScript } from '#guest/build/init-script.js';

describe('renderInitScript', () => {
  const script = renderInitScript({ nodeFlags: ['--max-semi-space-size=4'] });

  test('is valid busybox sh', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-init-'));
    try {
      writeFileSync(join(dir, 'init'), script);
      const r = spawnSync('/usr/bin/busybox', ['sh', '-n', join(dir, 'init')], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('verifies the root before trusting it and refuses to boot with the verity marker', () => {
    expect(script).toContain('veritysetup open');
    expect(script).toMatch(
      /dd if=\/dev\/mapper\/kata-root[^\n]*\n\s*fatal "dm-verity: root hash does not match/,
    );
    expect(GUEST_INIT_MARKERS.verityFailed.startsWith(GUEST_INIT_MARKERS.fatal)).toBe(true);
    expect(script.indexOf('veritysetup open')).toBeLessThan(script.indexOf('mount -t erofs'));
  });

  test('switch_roots into node running the agent with the given flags', () => {
    expect(script).toContain(
      'exec switch_root /newroot /usr/bin/node --max-semi-space-size=4 /opt/kata-cc/kata-agent.mjs',
    );
    expect(script).toContain('mount -t cgroup2');
  });

  test('refuses a node flag that could inject shell', () => {
    expect(() => renderInitScript({ nodeFlags: ['--x; reboot'] })).toThrow(/bad node flag/);
  });
});
