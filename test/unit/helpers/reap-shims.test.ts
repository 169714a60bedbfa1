import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { reapShimsOf } from '#test/helpers/reap-shims.js';

/** Running (a killed process may linger as a zombie until somebody reaps it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('reapShimsOf', () => {
  test('kills the shims naming that containerd address and the processes below them, nothing else', async () => {
    const address = `/tmp/reap-test-${process.pid}.sock`;
    const script =
      "const c = require('node:child_process').spawn('sleep', ['300'], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);";
    const shim = spawn(process.execPath, [
      '-e',
      script,
      'containerd-shim-fake',
      '-address',
      address,
    ]);
    const other = spawn(process.execPath, [
      '-e',
      script,
      'containerd-shim-fake',
      '-address',
      '/elsewhere.sock',
    ]);
    const childOf = (p: typeof shim): Promise<number> =>
      new Promise((resolve) =>
        p.stdout.once('data', (b: Buffer) => {
          resolve(Number(b.toString().trim()));
        }),
      );
    const [grandchild, otherChild] = await Promise.all([childOf(shim), childOf(other)]);
    try {
      const killed = reapShimsOf(address);
      expect(killed.sort()).toEqual([shim.pid, grandchild].sort());
      await new Promise((r) => setTimeout(r, 200));
      expect(alive(grandchild)).toBe(false);
      expect(alive(otherChild)).toBe(true);
    } finally {
      other.kill('SIGKILL');
      process.kill(otherChild, 'SIGKILL');
    }
  });
});
