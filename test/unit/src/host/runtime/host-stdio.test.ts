import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { NULL_LOGGER } from '#src/lib/index.js';
import { openHostStdio } from '#src/host/runtime/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'stdio-'));
  dirs.push(d);
  return d;
}
function mkfifo(path: string): string {
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
  return path;
}
const opts = { containerId: 'c1', namespace: 'default', logger: NULL_LOGGER };

describe('openHostStdio', () => {
  test('copies output into containerd FIFOs and reads stdin from one', async () => {
    const d = tmp();
    const spec = {
      stdin: mkfifo(join(d, 'in')),
      stdout: mkfifo(join(d, 'out')),
      stderr: mkfifo(join(d, 'err')),
      terminal: false,
    };
    const io = await openHostStdio(spec, opts);
    const out: Buffer[] = [];
    const reader = createReadStream(spec.stdout);
    reader.on('data', (b) => out.push(b as Buffer));
    io.stdout?.write('hello\n');
    const got = new Promise<string>((resolve) =>
      io.stdin?.once('data', (b: Buffer) => { resolve(b.toString()); }),
    );
    const writer = createWriteStream(spec.stdin);
    writer.write('typed\n');
    expect(await got).toBe('typed\n');
    await new Promise((r) => setTimeout(r, 100));
    expect(Buffer.concat(out).toString()).toBe('hello\n');
    writer.destroy();
    reader.destroy();
    await io.close();
  });

  test('opens without blocking when nobody holds the other end yet', async () => {
    const d = tmp();
    const io = await openHostStdio(
      { stdin: '', stdout: mkfifo(join(d, 'o')), stderr: '', terminal: false },
      opts,
    );
    expect(io.stdin).toBeUndefined();
    expect(io.stderr).toBeUndefined();
    await io.close();
  });

  test('appends both streams to a file:// log', async () => {
    const d = tmp();
    const file = join(d, 'log.txt');
    const io = await openHostStdio(
      {
        stdin: '',
        stdout: pathToFileURL(file).href,
        stderr: pathToFileURL(file).href,
        terminal: false,
      },
      opts,
    );
    io.stdout?.write('a');
    io.stderr?.write('b');
    await io.close();
    expect(readFileSync(file, 'utf8')).toBe('ab');
  });

  test('feeds a binary:// logger through fds 3 and 4 after it signals ready', async () => {
    const d = tmp();
    const script = join(d, 'logger.sh');
    const { writeFileSync, chmodSync } = await import('node:fs');
    writeFileSync(
      script,
      `#!/bin/sh\nexec 5>&-\ncat <&3 > ${d}/o &\ncat <&4 > ${d}/e\nwait\necho "$CONTAINER_ID $CONTAINER_NAMESPACE $1" > ${d}/env\n`,
    );
    chmodSync(script, 0o755);
    const io = await openHostStdio(
      {
        stdin: '',
        stdout: `binary://${script}?arg1`,
        stderr: `binary://${script}?arg1`,
        terminal: false,
      },
      opts,
    );
    io.stdout?.write('out');
    io.stderr?.write('err');
    await io.close();
    expect(readFileSync(join(d, 'o'), 'utf8')).toBe('out');
    expect(readFileSync(join(d, 'e'), 'utf8')).toBe('err');
    expect(readFileSync(join(d, 'env'), 'utf8').trim()).toBe('c1 default arg1');
  });

  test('names a missing FIFO in the error', async () => {
    await expect(
      openHostStdio({ stdin: '', stdout: '/nonexistent/fifo', stderr: '', terminal: false }, opts),
    ).rejects.toMatchObject({
      code: 'ERR_RUNTIME_STDIO',
      message: expect.stringContaining('/nonexistent/fifo'),
    });
  });
});
