import { writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { JsonLogger, MemorySink } from '#src/lib/index.js';
import { ComponentsSupervisor } from '#guest/agent/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const waitFor = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe('ComponentsSupervisor', () => {
  const dirs: ReturnType<typeof tmpdir>[] = [];
  const sups: ComponentsSupervisor[] = [];
  afterEach(async () => {
    for (const s of sups.splice(0)) await s.close();
    for (const d of dirs.splice(0)) d.remove();
  });
  function make(script: string, extra: { maxFastFailures?: number; niceness?: number } = {}) {
    const d = tmpdir();
    dirs.push(d);
    const entry = join(d.path, 'gc.mjs');
    writeFileSync(entry, script);
    const sink = new MemorySink();
    const sup = new ComponentsSupervisor({
      node: process.execPath,
      entry,
      log: new JsonLogger({ sink }),
      initialDelayMs: 20,
      maxDelayMs: 50,
      ...extra,
    });
    sups.push(sup);
    return { sup, sink };
  }

  test('restarts a process that exits, then gives up with a clear error', async () => {
    const { sup, sink } = make('process.exit(3);\n', { maxFastFailures: 3 });
    sup.start();
    await waitFor(() => sup.state === 'failed', 'failed state');
    expect(sup.starts).toBe(3);
    const recs = sink.records();
    expect(recs.filter((r) => r['msg'] === 'guest components exited; restarting')).toHaveLength(2);
    expect(recs.find((r) => r['level'] === 'error')).toMatchObject({
      msg: 'guest components keep failing; not restarting them',
      code: 3,
    });
  });

  test('runs the process at the nice value asked for', async () => {
    const { sup } = make('setInterval(() => {}, 1000);\n', { niceness: 10 });
    sup.start();
    await waitFor(() => sup.state === 'running', 'running state');
    expect(getPriority(sup.pid)).toBe(10);
    await sup.close();
  });

  test('keeps a healthy process running and stops it on close', async () => {
    const { sup } = make('setInterval(() => {}, 1000);\n');
    sup.start();
    await waitFor(() => sup.state === 'running', 'running state');
    const pid = sup.pid;
    expect(pid).toBeGreaterThan(0);
    await sup.close();
    expect(sup.state).toBe('stopped');
    expect(() => process.kill(pid ?? 0, 0)).toThrow();
    await sup.close();
  });

  test('a missing node binary is a failure, not a crash', async () => {
    const d = tmpdir();
    dirs.push(d);
    const sup = new ComponentsSupervisor({
      node: join(d.path, 'no-node'),
      entry: 'x.mjs',
      log: new JsonLogger({ sink: new MemorySink() }),
      initialDelayMs: 10,
      maxFastFailures: 2,
    });
    sups.push(sup);
    sup.start();
    await waitFor(() => sup.state === 'failed', 'failed state');
  });
});
