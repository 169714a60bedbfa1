import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BUSYBOX_IMAGE } from '#test/helpers/test-images.js';
import { socketAddress, socketPathOf } from '#src/host/shim/index.js';
import { ctr, mountsContaining, podVmEnv, qemuPids, shimLog } from './setup/pod-vm-env.js';

const env = podVmEnv();
const RUNTIME = 'io.containerd.kata-cc.v2';
if (env.problem !== '') console.log(`skipping VM tests: ${env.problem}`);

describe.skipIf(env.problem !== '')('ctr run through a pod VM', () => {
  test('prints the output, the guest kernel release and the exit code, and leaves nothing behind', async () => {
    const id = 'ctr-run-hello';
    let sawQemu = false;
    const poll = setInterval(() => {
      if (qemuPids(id).length > 0) sawQemu = true;
    }, 200);
    const t0 = Date.now();
    const r = await ctr(env, [
      'run',
      '--runtime',
      RUNTIME,
      '--rm',
      BUSYBOX_IMAGE,
      id,
      'sh',
      '-c',
      'echo hello; uname -r; exit 3',
    ]);
    clearInterval(poll);
    console.log(`ctr run ${id}: ${Date.now() - t0} ms`);
    const why = `${r.stderr}\n${shimLog(env, id)}`;
    const lines = r.stdout.trim().split(/\r?\n/);
    expect(lines[0], why).toBe('hello');
    const manifest = JSON.parse(readFileSync(env.manifest, 'utf8')) as { kernelRelease: string };
    expect(lines[1], why).toBe(manifest.kernelRelease);
    expect(lines[1], 'not the host kernel').not.toBe(release());
    expect(r.code, why).toBe(3);
    expect(sawQemu, 'a QEMU process ran for the pod').toBe(true);
    await new Promise((res) => setTimeout(res, 500));
    expect(qemuPids(id)).toEqual([]);
    expect(mountsContaining(id)).toEqual([]);
    expect(existsSync(join(env.stateDir, id)), 'state dir removed').toBe(false);
    expect(
      existsSync(socketPathOf(socketAddress(env.address, 'default', id))),
      'shim socket removed',
    ).toBe(false);
  }, 240_000);
});
