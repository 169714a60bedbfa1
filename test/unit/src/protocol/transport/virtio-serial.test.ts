import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import { sleep } from '#src/lib/index.js';
import { VirtioSerialPort } from '#src/protocol/transport/index.js';
import { TtrpcClient, TtrpcServer } from '#src/protocol/ttrpc/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * Two FIFOs stand in for the port: reading `in` with O_NONBLOCK gives EOF once the host's writer is
 * closed and data again after it reopens, which is how the virtio-serial device behaves.
 */
function fifoPort(): { port: VirtioSerialPort; hostConnect: () => HostSide } {
  const d = tmpdir();
  const inPath = join(d.path, 'in');
  const outPath = join(d.path, 'out');
  execFileSync('mkfifo', [inPath, outPath]);
  const readFd = openSync(inPath, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(outPath, constants.O_RDWR);
  const hostReadFd = openSync(outPath, constants.O_RDONLY | constants.O_NONBLOCK);
  const port = new VirtioSerialPort({ readFd, writeFd }, { maxPollMs: 5 });
  cleanups.push(async () => {
    await port.close();
    for (const fd of [readFd, writeFd, hostReadFd]) closeSync(fd);
    d.remove();
  });
  return { port, hostConnect: () => new HostSide(inPath, hostReadFd) };
}

/** The host end of one session: a writer on `in`, polling reads of `out`. */
class HostSide extends Duplex {
  readonly #writeFd: number;
  readonly #readFd: number;
  #timer: NodeJS.Timeout | undefined;
  constructor(inPath: string, readFd: number) {
    super();
    this.#writeFd = openSync(inPath, constants.O_WRONLY);
    this.#readFd = readFd;
    this.#timer = setInterval(() => {
      this.#poll();
    }, 1);
  }
  #poll(): void {
    const buf = Buffer.alloc(65536);
    try {
      const n = readSync(this.#readFd, buf);
      if (n > 0) this.push(buf.subarray(0, n));
    } catch {
      // EAGAIN: nothing yet
    }
  }
  override _read(): void {
    // pushed by the poll timer
  }
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    writeSync(this.#writeFd, chunk);
    cb();
  }
  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    closeSync(this.#writeFd); // the host disconnects: the guest reads EOF
    cb(err);
  }
}

async function readAll(stream: Duplex): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += String(chunk);
  return out;
}

describe('VirtioSerialPort', () => {
  test('turns each host session into its own Duplex; EOF is not final', async () => {
    const { port, hostConnect } = fifoPort();
    const sessions = port.connections();
    const h1 = hostConnect();
    h1.write('first');
    const s1 = (await sessions.next()).value as Duplex;
    h1.destroy();
    expect(await readAll(s1)).toBe('first');
    const h2 = hostConnect();
    h2.write('second');
    const s2 = (await sessions.next()).value as Duplex;
    h2.destroy();
    expect(await readAll(s2)).toBe('second');
    await port.close();
    expect((await sessions.next()).done).toBe(true);
  });

  test('serves ttrpc across a host disconnect and reconnect', async () => {
    const { port, hostConnect } = fifoPort();
    const server = new TtrpcServer();
    server.register('t.T', { Echo: (p) => Promise.resolve(p) });
    const served = (async () => {
      for await (const conn of port.connections()) void server.serve(conn);
    })();
    for (const round of ['one', 'two', 'three']) {
      const host = hostConnect();
      const client = new TtrpcClient(host);
      expect(Buffer.from(await client.call('t.T', 'Echo', Buffer.from(round))).toString()).toBe(
        round,
      );
      await client.close();
      await sleep(20);
    }
    await port.close();
    await served;
    await server.close({ graceMs: 100 });
  });

  test('drops the rest of a session whose Duplex the consumer destroyed, until the host reconnects', async () => {
    const { port, hostConnect } = fifoPort();
    const sessions = port.connections();
    const h1 = hostConnect();
    h1.write('garbage');
    const s1 = (await sessions.next()).value as Duplex;
    s1.destroy();
    h1.write('more garbage');
    await sleep(20);
    h1.destroy();
    await sleep(20);
    const h2 = hostConnect();
    h2.write('clean');
    const s2 = (await sessions.next()).value as Duplex;
    h2.destroy();
    expect(await readAll(s2)).toBe('clean');
  });

  test('close() stops the read loop and is idempotent', async () => {
    const { port } = fifoPort();
    await Promise.all([port.close(), port.close()]);
    expect(port.state).toBe('closed');
  });

  test('open() reports a missing device clearly', async () => {
    await expect(VirtioSerialPort.open('/nonexistent/agent.channel.0')).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringMatching(/cannot open virtio-serial port \/nonexistent/) as unknown,
    });
  });
});
