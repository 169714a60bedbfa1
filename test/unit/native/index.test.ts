import { describe, expect, test } from 'vitest';
import {
  isAvailable,
  unavailableReason,
  vsockConnect,
  vsockListen,
  vsockSupported,
} from '#native/index.js';

const built = isAvailable();
if (!built) console.log(`native tests skipped: ${unavailableReason()}`);
const noVsock = built && !vsockSupported();
if (noVsock) console.log('vsock syscall tests skipped: no AF_VSOCK support on this host');

describe('native addon facade', () => {
  test('explains why it is unavailable, or loads', () => {
    if (built) expect(unavailableReason()).toBe('');
    else expect(unavailableReason()).toMatch(/native addon/);
  });

  test('rejects arguments that are not u32 before touching the addon', async () => {
    expect(() => vsockListen(-1)).toThrow(
      expect.objectContaining({ code: 'ERR_NATIVE_ARGUMENT', kind: 'invalid_argument' }),
    );
    await expect(vsockConnect(2, 2 ** 32)).rejects.toMatchObject({ code: 'ERR_NATIVE_ARGUMENT' });
  });

  test.skipIf(!built || !noVsock)(
    'reports a kernel without AF_VSOCK as an unavailable SysError',
    async () => {
      expect(() => vsockListen(1024)).toThrow(
        expect.objectContaining({
          kind: 'unavailable',
          errnoCode: 'EAFNOSUPPORT',
          syscall: 'socket',
        }),
      );
      await expect(vsockConnect(3, 1024)).rejects.toMatchObject({
        kind: 'unavailable',
        syscall: 'socket',
      });
    },
  );

  test.skipIf(built)('without the addon every call fails with unavailable', () => {
    expect(() => vsockListen(1024)).toThrow(
      expect.objectContaining({ kind: 'unavailable', code: 'ERR_NATIVE_UNAVAILABLE' }),
    );
  });
});
