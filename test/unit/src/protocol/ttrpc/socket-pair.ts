import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from '#test/helpers/tmpdir.js';

/** Two connected unix sockets (a real kernel byte stream), and a cleanup. */
export async function socketPair(): Promise<{ a: Socket; b: Socket; cleanup: () => void }> {
  const dir = tmpdir('kata-cc-ttrpc-');
  const path = join(dir.path, 's.sock');
  const server = createServer();
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const a = connect(path);
  await new Promise<void>((resolve, reject) => {
    a.once('connect', resolve);
    a.once('error', reject);
  });
  const b = await accepted;
  server.close();
  return {
    a,
    b,
    cleanup: () => {
      a.destroy();
      b.destroy();
      dir.remove();
    },
  };
}
