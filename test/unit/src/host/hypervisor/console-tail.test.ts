import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  consoleContains,
  readConsoleTail,
  waitForConsoleMarker,
} from '#src/host/hypervisor/index.js';

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function logFile(text: string): string {
  dir = mkdtempSync(join(tmpdir(), 'kata-console-'));
  const p = join(dir, 'console.log');
  writeFileSync(p, text);
  return p;
}

describe('console tail', () => {
  test('strips SeaBIOS escape sequences and finds markers inside a line', () => {
    const p = logFile(
      '\x1bc\x1b[?7l\x1b[2JSeaBIOS\r\nBooting\r\n\x1bc\x1b[?7l\x1b[2Jkata-cc-init: root verified\r\n',
    );
    expect(readConsoleTail(p, 2)).toEqual(['Booting', 'kata-cc-init: root verified']);
    expect(consoleContains(p, 'root verified')).toBe(true);
  });

  test('returns no lines for a missing file', () => {
    expect(readConsoleTail('/nonexistent/console.log', 5)).toEqual([]);
  });

  test('waits for a marker that appears later', async () => {
    const p = logFile('booting\n');
    setTimeout(() => {
      appendFileSync(p, 'MARK\n');
    }, 100);
    expect(
      await waitForConsoleMarker(p, 'MARK', { pollMs: 10, signal: AbortSignal.timeout(5000) }),
    ).toBeGreaterThanOrEqual(0);
  });

  test('fails with unavailable when the vm exits first', async () => {
    const p = logFile('panic\n');
    await expect(
      waitForConsoleMarker(p, 'MARK', { pollMs: 10, exited: Promise.resolve() }),
    ).rejects.toMatchObject({ kind: 'unavailable', message: expect.stringContaining('panic') });
  });
});
