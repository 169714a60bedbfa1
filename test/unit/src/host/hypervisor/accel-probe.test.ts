import { describe, expect, test } from 'vitest';
import { resolveAccel } from '#src/host/hypervisor/index.js';

describe('resolveAccel', () => {
  test.each(['kvm', 'tcg'] as const)(
    'takes a configured %s as given, without probing',
    async (mode) => {
      const d = await resolveAccel({
        qemuBinary: '/nonexistent/qemu',
        kernel: '/nonexistent/k',
        mode,
      });
      expect(d).toEqual({ accel: mode, reason: `accel = ${mode} was configured`, cached: false });
    },
  );

  test('falls back to tcg without /dev/kvm', async () => {
    const d = await resolveAccel({
      qemuBinary: '/nonexistent/qemu',
      kernel: '/nonexistent/k',
      mode: 'auto',
      devKvm: '/nonexistent/kvm',
    });
    expect(d.accel).toBe('tcg');
    expect(d.reason).toContain('/nonexistent/kvm does not exist');
  });
});
