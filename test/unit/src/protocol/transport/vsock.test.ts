import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import * as native from '#native/index.js';
import { connectVsock, VsockListener } from '#src/protocol/transport/index.js';
import type { VsockBinding } from '#src/protocol/transport/index.js';
import { TtrpcClient, TtrpcServer } from '#src/protocol/ttrpc/index.js';

// Only the loopback CID (1) is used: a round trip needs the vsock_loopback transport. CID 2 (the
// host) is never dialled from tests.
const hasVsock = native.vsockSupported() && existsSync('/sys/module/vsock_loopback');
if (!hasVsock) {
  console.log(
    native.isAvailable()
      ? 'vsock round-trip test skipped: no AF_VSOCK support on this host (no vsock_loopback transport)'
      : `vsock round-trip test skipped: ${native.unavailableReason()}`,
  );
}

const missingAddon: VsockBinding = {
  ...native,
  isAvailable: () => false,
  unavailableReason: () => 'native addon not built (run `npm run build:native`)',
};

describe('vsock transport', () => {
  test('without the addon, connect fails with a clear unavailable error', async () => {
    await expect(connectVsock(missingAddon, 3, 1024)).rejects.toMatchObject({
      kind: 'unavailable',
      code: 'ERR_TRANSPORT_UNAVAILABLE',
      message: expect.stringMatching(/npm run build:native/) as unknown,
    });
    expect(() => new VsockListener(missingAddon, 1024)).toThrow(
      expect.objectContaining({ kind: 'unavailable' }),
    );
  });

  test.skipIf(native.vsockSupported() || !native.isAvailable())(
    'on a kernel without AF_VSOCK, says so',
    async () => {
      await expect(connectVsock(native, 1, 1024)).rejects.toMatchObject({
        kind: 'unavailable',
        message: 'vsock: no AF_VSOCK support on this host',
      });
    },
  );

  test.skipIf(!hasVsock)('carries ttrpc over a loopback vsock connection', async () => {
    const listener = new VsockListener(native, 0x4b43);
    const server = new TtrpcServer();
    server.register('t.T', { Echo: (p) => Promise.resolve(p) });
    const accepted = (async () => {
      for await (const conn of listener.connections()) void server.serve(conn);
    })();
    const client = new TtrpcClient(await connectVsock(native, 1, 0x4b43));
    expect(Buffer.from(await client.call('t.T', 'Echo', Buffer.from('vsock'))).toString()).toBe(
      'vsock',
    );
    await client.close();
    await listener.close();
    await accepted;
    await server.close({ graceMs: 100 });
  });
});
