import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { BUSYBOX_IMAGE, makeBusyboxBundle } from '#test/helpers/test-images.js';
import { CreateTaskRequest, ShutdownRequest } from '#src/protocol/shim/index.js';
import { CtrEvents } from './setup/ctr-events.js';
import { ctr, podVmEnv, qemuPids, shimLog } from './setup/pod-vm-env.js';
import { connectTask, shimAction } from './setup/shim-driver.js';

const env = podVmEnv();
const RUNTIME = 'io.containerd.kata-cc.v2';
if (env.problem !== '') console.log(`skipping VM tests: ${env.problem}`);

async function until(pred: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pred()) return true;
    await new Promise((r) => setTimeout(r, 300));
  }
  return pred();
}

async function runDetached(id: string): Promise<void> {
  const r = await ctr(env, ['run', '-d', '--runtime', RUNTIME, BUSYBOX_IMAGE, id, 'sleep', '600']);
  expect(r.code, `${r.stderr}\n${shimLog(env, id)}`).toBe(0);
  expect(await until(() => qemuPids(id).length === 1), 'qemu runs').toBe(true);
}

describe.skipIf(env.problem !== '')('pod faults', () => {
  const events = new CtrEvents(env);
  afterAll(() => {
    events.close();
  });

  test('a QEMU killed mid-run ends the task with 137 and a TaskExit', async () => {
    const id = 'fault-qemu-kill';
    await runDetached(id);
    for (const pid of qemuPids(id)) process.kill(pid, 'SIGKILL');
    const ev = await events.waitFor(id, (e) => e.some((x) => x.topic === '/tasks/exit'));
    const exit = ev.find((x) => x.topic === '/tasks/exit');
    expect(exit?.body['exit_status'], shimLog(env, id)).toBe(137);
    const del = await ctr(env, ['task', 'delete', id]);
    expect(del.code, del.stderr).toBe(0);
    await ctr(env, ['container', 'delete', id]);
    expect(await until(() => !existsSync(join(env.stateDir, id))), 'state removed').toBe(true);
  });

  test('a SIGKILLed shim is cleaned up by `shim delete`: VM killed, state removed', async () => {
    const id = 'fault-shim-kill';
    await runDetached(id);
    const record = JSON.parse(readFileSync(join(env.stateDir, id, 'state.json'), 'utf8')) as {
      shimPid: number;
    };
    process.kill(record.shimPid, 'SIGKILL');
    expect(await until(() => qemuPids(id).length === 0), `qemu killed\n${shimLog(env, id)}`).toBe(
      true,
    );
    expect(await until(() => !existsSync(join(env.stateDir, id))), 'state removed').toBe(true);
    await ctr(env, ['task', 'delete', '-f', id]);
    const rm = await ctr(env, ['container', 'delete', id]);
    expect(rm.code, rm.stderr).toBe(0);
  });

  test('an agent that never answers fails Create with the VM console tail', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fault-agent-'));
    try {
      const stateDir = join(dir, 'state');
      const config = join(dir, 'config.toml');
      writeFileSync(
        config,
        [
          '[hypervisor]',
          'accel = "tcg"',
          '[guest]',
          `manifest = ${JSON.stringify(env.manifest)}`,
          '[agent]',
          'dial_timeout_ms = 2000',
          '[runtime]',
          `state_dir = ${JSON.stringify(stateDir)}`,
          '',
        ].join('\n'),
      );
      const id = 'fault-agent-silent';
      const bundle = await makeBusyboxBundle(join(dir, 'bundle'), ['true']);
      const shimEnv = { KATA_CC_CONFIG: config };
      const args = { namespace: 'faults', address: join(dir, 'containerd.sock'), id };
      const started = await shimAction('start', args, bundle, shimEnv);
      expect(started.code, started.stderr).toBe(0);
      const c = await connectTask(started.stdout.trim(), 'faults');
      try {
        const req = CreateTaskRequest.fromPartial({ id, bundle });
        const err = await c.call('Create', CreateTaskRequest.encode(req).finish()).then(
          () => undefined,
          (e: unknown) => e as { kind: string; message: string },
        );
        expect(err?.kind).toBe('deadline_exceeded');
        expect(err?.message).toMatch(/agent did not come up: no answer within 2000 ms/);
        expect(err?.message).toMatch(/console/);
        expect(qemuPids(id)).toEqual([]);
        expect(existsSync(join(stateDir, id))).toBe(false);
        await c.call('Shutdown', ShutdownRequest.encode({ id, now: true }).finish());
      } finally {
        await c.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
