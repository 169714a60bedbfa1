import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BUSYBOX_IMAGE } from '#test/helpers/test-images.js';
import { socketAddress, socketPathOf } from '#src/host/shim/index.js';
import { ctr, mountsContaining, podVmEnv, qemuPids, shimLog } from './setup/pod-vm-env.js';

const env = podVmEnv();
const RUNTIME = 'io.containerd.kata-cc.v2';
const PODS = 5;
if (env.problem !== '') console.log(`skipping VM tests: ${env.problem}`);

describe.skipIf(env.problem !== '')('concurrent pods', () => {
  test(
    `${String(PODS)} pods started at once on this machine all complete and leave nothing`,
    { timeout: 900_000 },
    async () => {
      const ids = Array.from({ length: PODS }, (_, i) => `conc-pod-${String(i + 1)}`);
      let maxQemu = 0;
      const poll = setInterval(() => {
        maxQemu = Math.max(maxQemu, ids.filter((id) => qemuPids(id).length > 0).length);
      }, 500);
      const t0 = Date.now();
      const results = await Promise.all(
        ids.map((id) =>
          ctr(
            env,
            ['run', '--rm', '--runtime', RUNTIME, BUSYBOX_IMAGE, id, 'sh', '-c', `echo ${id}-ok`],
            { timeoutMs: 840_000 },
          ),
        ),
      );
      clearInterval(poll);
      console.log(`${String(PODS)} concurrent pods: ${String(Date.now() - t0)} ms`);
      results.forEach((r, i) => {
        const id = ids[i] ?? '';
        const why = `${id}: ${r.stderr}\n${shimLog(env, id, 60)}`;
        expect(r.stdout.trim(), why).toBe(`${id}-ok`);
        expect(r.code, why).toBe(0);
      });
      expect(maxQemu, 'the pod VMs ran side by side').toBeGreaterThan(1);
      await new Promise((res) => setTimeout(res, 500));
      for (const id of ids) {
        expect(qemuPids(id), id).toEqual([]);
        expect(mountsContaining(id), id).toEqual([]);
        expect(existsSync(join(env.stateDir, id)), `${id} state`).toBe(false);
        const sock = socketPathOf(socketAddress(env.address, 'default', id));
        expect(existsSync(sock), `${id} shim socket`).toBe(false);
      }
      const left = existsSync(env.stateDir) ? readdirSync(env.stateDir) : [];
      expect(left.filter((n) => n.startsWith('conc-pod-'))).toEqual([]);
    },
  );
});
