import { closeSync, readSync, writeSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { Terminal } from '#guest/sandbox/index.js';
import { getWindowSize, isAvailable, openPty, unavailableReason } from '#native/index.js';

const built = isAvailable();
if (!built) console.log(`terminal tests skipped: ${unavailableReason()}`);

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function open(): { terminal: Terminal; slave: { fd: number; close(): void } } {
  const pty = openPty();
  const terminal = new Terminal(pty.master);
  let open = true;
  const slave = {
    fd: pty.slave,
    close: () => {
      if (open) closeSync(pty.slave);
      open = false;
    },
  };
  cleanups.push(
    () => {
      terminal.close();
    },
    () => {
      slave.close();
    },
  );
  return { terminal, slave };
}

async function collect(t: Terminal): Promise<string> {
  let out = '';
  for await (const chunk of t.output) out += String(chunk);
  return out;
}

describe.skipIf(!built)('Terminal (the agent side of a container pty)', () => {
  test('relays output and ends cleanly when the slave side closes (EIO is the normal end)', async () => {
    const { terminal, slave } = open();
    const all = collect(terminal);
    writeSync(slave.fd, 'hello\n');
    slave.close();
    expect(await all).toBe('hello\r\n');
  });

  test('input reaches the reader of the slave', async () => {
    const { terminal, slave } = open();
    await terminal.write(Buffer.from('typed\n'));
    const buf = Buffer.alloc(64);
    const n = readSync(slave.fd, buf);
    expect(buf.subarray(0, n).toString()).toBe('typed\n');
  });

  test('resize sets the size the container sees', () => {
    const { terminal, slave } = open();
    terminal.resize(50, 132);
    expect(getWindowSize(slave.fd)).toEqual({ rows: 50, cols: 132 });
  });

  test('closing input sends end of file once; later writes are refused', async () => {
    const { terminal, slave } = open();
    terminal.closeInput();
    terminal.closeInput();
    expect(readSync(slave.fd, Buffer.alloc(16))).toBe(0);
    expect(terminal.isInputClosed).toBe(true);
    await expect(terminal.write(Buffer.from('x'))).rejects.toMatchObject({
      kind: 'failed_precondition',
    });
  });

  test('after close, resize and write fail instead of touching a reused fd', async () => {
    const { terminal } = open();
    terminal.close();
    expect(() => {
      terminal.resize(24, 80);
    }).toThrow(expect.objectContaining({ code: 'ERR_SANDBOX_NO_TTY' }));
    await expect(terminal.write(Buffer.from('x'))).rejects.toMatchObject({
      code: 'ERR_SANDBOX_IO',
    });
  });

  test('a size beyond u16 fails as an error, never a crash', () => {
    const { terminal } = open();
    expect(() => {
      terminal.resize(70_000, 80);
    }).toThrow(expect.objectContaining({ code: 'ERR_SANDBOX_NO_TTY', kind: 'invalid_argument' }));
  });
});
