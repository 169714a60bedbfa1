// The host pty (ours) keeps output post-processing on, so guest "\r\n" may arrive as "\r\r\n".
import { describe, expect, test } from 'vitest';
import { isAvailable, unavailableReason } from '#native/index.js';
import { PtySession } from '#test/helpers/pty-session.js';
import { BUSYBOX_IMAGE } from '#test/helpers/test-images.js';
import { ctr, podVmEnv, qemuPids, shimLog } from './setup/pod-vm-env.js';

const env = podVmEnv();
const RUNTIME = 'io.containerd.kata-cc.v2';
const skip =
  env.problem !== ''
    ? env.problem
    : isAvailable()
      ? ''
      : `the host pty needs the native addon: ${unavailableReason()}`;
if (skip !== '') console.log(`skipping terminal VM tests: ${skip}`);

/** busybox sh prints `/ # ` as its prompt once it reads the terminal. */
const PROMPT = /\/ # /;

function ctrArgv(args: readonly string[]): [string, ...string[]] {
  return ['ctr', '--address', env.address, '--namespace', 'default', ...args];
}

describe.skipIf(skip !== '')('interactive terminals through ctr (issue #4)', () => {
  test('ctr run -t: typed input runs in the guest shell once, the window size follows, the exit code comes back', async () => {
    const id = 'tty-run';
    const s = new PtySession(
      ctrArgv(['run', '-t', '--runtime', RUNTIME, '--rm', BUSYBOX_IMAGE, id, 'sh']),
      {
        rows: 33,
        cols: 101,
        timeoutMs: 200_000,
      },
    );
    const why = (): string => `output:\n${s.output}\nshim log:\n${shimLog(env, id)}`;
    expect(await s.waitFor(PROMPT, 180_000), why()).toBe(true);
    s.type("echo hel''lo; stty size\n");
    expect(await s.waitFor(/33 101/, 30_000), why()).toBe(true);
    const mark = s.output.length;
    s.resize(40, 120);
    await new Promise((r) => setTimeout(r, 1000)); // ctr forwards SIGWINCH as ResizePty
    s.type('stty size; exit 4\n');
    const code = await s.exited();
    expect(s.output, why()).toMatch(/\nhello\r*\n/);
    expect(s.output.slice(mark), why()).toMatch(/40 120/);
    // the terminal echoes the typed line once (the guest pty), not twice (no host-side echo)
    expect(s.output.split("echo hel''lo").length - 1, why()).toBe(1);
    expect(code, why()).toBe(4);
    await new Promise((r) => setTimeout(r, 500));
    expect(qemuPids(id)).toEqual([]);
  }, 240_000);

  test('ctr task exec -t: a second interactive process gets its own terminal and exit code', async () => {
    const id = 'tty-exec';
    const started = await ctr(env, [
      'run',
      '-d',
      '--runtime',
      RUNTIME,
      BUSYBOX_IMAGE,
      id,
      'sh',
      '-c',
      'while :; do sleep 1; done',
    ]);
    expect(started.code, `${started.stderr}\n${shimLog(env, id)}`).toBe(0);
    try {
      const s = new PtySession(ctrArgv(['task', 'exec', '-t', '--exec-id', 'sh1', id, 'sh']), {
        rows: 27,
        cols: 91,
        timeoutMs: 120_000,
      });
      const why = (): string => `output:\n${s.output}\nshim log:\n${shimLog(env, id)}`;
      expect(await s.waitFor(PROMPT, 100_000), why()).toBe(true);
      s.type("echo ex''ec; stty size; tty; exit 5\n");
      const code = await s.exited();
      expect(s.output, why()).toMatch(/\nexec\r*\n/);
      expect(s.output, why()).toContain('27 91');
      expect(s.output, why()).toMatch(/\/dev\/pts\/\d+/);
      expect(code, why()).toBe(5);
    } finally {
      await ctr(env, ['task', 'kill', '-s', 'SIGKILL', id]);
      for (let i = 0; i < 100; i++) {
        const r = await ctr(env, ['task', 'delete', id]);
        if (r.code === 0 || /not found/.test(r.stderr)) break;
        await new Promise((r2) => setTimeout(r2, 300));
      }
      await ctr(env, ['container', 'delete', id]);
      for (let i = 0; i < 100 && qemuPids(id).length > 0; i++)
        await new Promise((r) => setTimeout(r, 300));
    }
    expect(qemuPids(id), 'the pod VM is gone after the container is deleted').toEqual([]);
  }, 240_000);
});
