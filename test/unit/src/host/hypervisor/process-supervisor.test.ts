import { describe, expect, test } from 'vitest';
import { SupervisedProcess } from '#src/host/hypervisor/index.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('SupervisedProcess', () => {
  test('keeps the stderr tail and reports the exit', async () => {
    const p = await SupervisedProcess.spawn('/bin/sh', [
      '-c',
      'for i in 1 2 3 4 5; do echo line$i >&2; done; exit 3',
    ]);
    expect(await p.exited).toEqual({ code: 3, signal: null });
    expect(p.stderrTail(2)).toEqual(['line4', 'line5']);
    expect(p.hasExited).toBe(true);
  });

  test('fails to spawn a missing binary with not_found', async () => {
    await expect(SupervisedProcess.spawn('/nonexistent/qemu', [])).rejects.toMatchObject({
      kind: 'not_found',
      code: 'ERR_PROCESS_SPAWN',
    });
  });

  test('stops with SIGTERM', async () => {
    const p = await SupervisedProcess.spawn('/bin/sleep', ['30']);
    expect(await p.close({ graceMs: 5000 })).toEqual({ code: null, signal: 'SIGTERM' });
    expect(isAlive(p.pid)).toBe(false);
  });

  test('escalates to SIGKILL when SIGTERM is ignored, and close is idempotent', async () => {
    const p = await SupervisedProcess.spawn('/bin/sh', [
      '-c',
      "trap '' TERM; echo ready >&2; while :; do sleep 0.05; done",
    ]);
    while (p.stderrTail(1)[0] !== 'ready') await new Promise((r) => setTimeout(r, 10));
    const [a, b] = await Promise.all([p.close({ graceMs: 200 }), p.close({ graceMs: 200 })]);
    expect(a).toEqual({ code: null, signal: 'SIGKILL' });
    expect(b).toBe(a);
    expect(await p.close()).toBe(a);
  });
});
