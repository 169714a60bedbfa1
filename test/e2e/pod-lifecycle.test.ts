import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { BUSYBOX_IMAGE } from '#test/helpers/test-images.js';
import { CtrEvents } from './setup/ctr-events.js';
import { ctr, mountsContaining, podVmEnv, qemuPids, shimLog } from './setup/pod-vm-env.js';

const env = podVmEnv();
const RUNTIME = 'io.containerd.kata-cc.v2';
if (env.problem !== '') console.log(`skipping VM tests: ${env.problem}`);

async function taskStatus(id: string): Promise<string> {
  const r = await ctr(env, ['task', 'ls']);
  const line = r.stdout.split('\n').find((l) => l.split(/\s+/)[0] === id);
  return line?.trim().split(/\s+/)[2] ?? 'absent';
}

async function waitStatus(id: string, want: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let s = await taskStatus(id);
  while (s !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    s = await taskStatus(id);
  }
  return s;
}

describe.skipIf(env.problem !== '')('pod lifecycle through ctr', () => {
  const events = new CtrEvents(env);
  afterAll(() => {
    events.close();
  });

  test('exec runs a second process, signals reach the guest, events arrive in order, nothing is left', async () => {
    const id = 'lc-exec-signal';
    const script = 'trap "exit 7" TERM; echo started; while :; do sleep 1; done';
    const r = await ctr(env, [
      'run',
      '-d',
      '--runtime',
      RUNTIME,
      BUSYBOX_IMAGE,
      id,
      'sh',
      '-c',
      script,
    ]);
    expect(r.code, `${r.stderr}\n${shimLog(env, id)}`).toBe(0);
    expect(await waitStatus(id, 'RUNNING')).toBe('RUNNING');
    expect(qemuPids(id).length).toBe(1);
    const ex = await ctr(env, [
      'task',
      'exec',
      '--exec-id',
      'e1',
      id,
      'sh',
      '-c',
      'echo exec-ok; uname -n; exit 5',
    ]);
    expect(ex.stdout, `${ex.stderr}\n${shimLog(env, id)}`).toContain('exec-ok');
    expect(ex.code).toBe(5);
    const kill = await ctr(env, ['task', 'kill', '-s', 'SIGTERM', id]);
    expect(kill.code, kill.stderr).toBe(0);
    expect(await waitStatus(id, 'STOPPED')).toBe('STOPPED');
    const del = await ctr(env, ['task', 'delete', id]);
    expect(del.code, del.stderr).toBe(0);
    await ctr(env, ['container', 'delete', id]);
    const ev = await events.waitFor(id, (e) => e.some((x) => x.topic === '/tasks/delete'));
    const topics = ev.map((e) => e.topic);
    expect(topics).toEqual([
      '/tasks/create',
      '/tasks/start',
      '/tasks/exec-added',
      '/tasks/exec-started',
      '/tasks/exit',
      '/tasks/exit',
      '/tasks/delete',
    ]);
    const exits = ev
      .filter((e) => e.topic === '/tasks/exit')
      .map((e) => [e.body['id'], e.body['exit_status']]);
    expect(exits).toEqual([
      ['e1', 5],
      [id, 7],
    ]);
    await new Promise((res) => setTimeout(res, 500));
    expect(qemuPids(id)).toEqual([]);
    expect(mountsContaining(id)).toEqual([]);
    expect(existsSync(join(env.stateDir, id))).toBe(false);
  });
});
