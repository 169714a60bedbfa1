import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

async function until(pred: () => boolean, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!pred() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 300));
  return pred();
}

describe.skipIf(env.problem !== '')('pod lifecycle through ctr', () => {
  const events = new CtrEvents(env);
  const logDir = mkdtempSync(join(tmpdir(), 'kata-lc-'));
  afterAll(() => {
    events.close();
    rmSync(logDir, { recursive: true, force: true });
  });

  test('exec runs a second process, signals reach the guest, events arrive in order, nothing is left', async () => {
    const id = 'lc-exec-signal';
    const log = join(logDir, `${id}.log`);
    const script = 'trap "echo got-term; exit 7" TERM; echo started; while :; do sleep 1; done';
    const r = await ctr(env, [
      'run',
      '-d',
      '--runtime',
      RUNTIME,
      '--log-uri',
      `file://${log}`,
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
    expect(await until(() => readLog(log).includes('started\n')), readLog(log)).toBe(true);
    const kill = await ctr(env, ['task', 'kill', '-s', 'SIGTERM', id]);
    expect(kill.code, kill.stderr).toBe(0);
    expect(await waitStatus(id, 'STOPPED')).toBe('STOPPED');
    expect(readLog(log), 'the trap ran in the guest').toContain('got-term\n');
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

  test('SIGKILL ends a container that ignores SIGTERM with 137', async () => {
    const id = 'lc-sigkill';
    const log = join(logDir, `${id}.log`);
    const script = 'trap "echo ignored-term" TERM; echo started; while :; do sleep 1; done';
    const r = await ctr(env, [
      'run',
      '-d',
      '--runtime',
      RUNTIME,
      '--log-uri',
      `file://${log}`,
      BUSYBOX_IMAGE,
      id,
      'sh',
      '-c',
      script,
    ]);
    expect(r.code, `${r.stderr}\n${shimLog(env, id)}`).toBe(0);
    expect(await until(() => readLog(log).includes('started\n')), readLog(log)).toBe(true);
    const term = await ctr(env, ['task', 'kill', '-s', 'SIGTERM', id]);
    expect(term.code, term.stderr).toBe(0);
    expect(await until(() => readLog(log).includes('ignored-term\n')), readLog(log)).toBe(true);
    expect(await taskStatus(id), 'SIGTERM was trapped').toBe('RUNNING');
    const kill = await ctr(env, ['task', 'kill', '-s', 'SIGKILL', id]);
    expect(kill.code, kill.stderr).toBe(0);
    expect(await waitStatus(id, 'STOPPED')).toBe('STOPPED');
    const ev = await events.waitFor(id, (e) => e.some((x) => x.topic === '/tasks/exit'));
    expect(ev.find((x) => x.topic === '/tasks/exit')?.body['exit_status']).toBe(137);
    const del = await ctr(env, ['task', 'delete', id]);
    expect(del.code, del.stderr).toBe(0);
    await ctr(env, ['container', 'delete', id]);
    await new Promise((res) => setTimeout(res, 500));
    expect(qemuPids(id)).toEqual([]);
    expect(existsSync(join(env.stateDir, id))).toBe(false);
  });

  test('a container over its memory limit is OOM-killed and TaskOOM comes before TaskExit', async () => {
    const id = 'lc-oom';
    const r = await ctr(env, [
      'run',
      '--rm',
      '--runtime',
      RUNTIME,
      '--memory-limit',
      String(32 << 20),
      BUSYBOX_IMAGE,
      id,
      'sh',
      '-c',
      'echo allocating; exec tail /dev/zero',
    ]);
    const why = `${r.stderr}\n${shimLog(env, id, 80)}`;
    expect(r.stdout, why).toContain('allocating');
    expect(r.code, why).toBe(137);
    const ev = await events.waitFor(id, (e) => e.some((x) => x.topic === '/tasks/delete'));
    const topics = ev.map((e) => e.topic);
    expect(topics, why).toContain('/tasks/oom');
    expect(topics.indexOf('/tasks/oom'), topics.join(' ')).toBeLessThan(
      topics.indexOf('/tasks/exit'),
    );
    await new Promise((res) => setTimeout(res, 500));
    expect(qemuPids(id)).toEqual([]);
    expect(existsSync(join(env.stateDir, id))).toBe(false);
  });
});
