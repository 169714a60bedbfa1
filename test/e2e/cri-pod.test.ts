import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  CriClient,
  PodSandboxStatusRequest,
  RunPodSandboxRequest,
} from '#src/protocol/cri/index.js';
import { mountsContaining, podVmEnv, qemuPids, shimLog } from './setup/pod-vm-env.js';

const env = podVmEnv();
if (env.problem !== '') console.log(`skipping VM tests: ${env.problem}`);

describe.skipIf(env.problem !== '')('CRI pod with RuntimeClass handler kata-cc', () => {
  test('RunPodSandbox boots one VM for the pod; Stop and Remove leave nothing', async () => {
    const cri = new CriClient({ address: env.address, timeoutMs: 240_000 });
    try {
      const req = RunPodSandboxRequest.fromPartial({
        config: {
          metadata: { name: 'cri-pod-1', uid: 'uid-cri-pod-1', namespace: 'default', attempt: 0 },
          hostname: 'cri-pod-1',
          log_directory: '',
        },
        runtime_handler: 'kata-cc',
      });
      const t0 = Date.now();
      const { pod_sandbox_id: podId } = await cri.runtime.RunPodSandbox(req);
      console.log(`RunPodSandbox: ${Date.now() - t0} ms`);
      const status = await cri.runtime.PodSandboxStatus(
        PodSandboxStatusRequest.fromPartial({ pod_sandbox_id: podId }),
      );
      expect(status.status?.state, shimLog(env, podId)).toBe(0); // SANDBOX_READY
      expect(qemuPids(podId).length, 'one QEMU for the pod').toBe(1);
      await cri.runtime.StopPodSandbox({ pod_sandbox_id: podId });
      await cri.runtime.RemovePodSandbox({ pod_sandbox_id: podId });
      await new Promise((r) => setTimeout(r, 500));
      expect(qemuPids(podId)).toEqual([]);
      expect(mountsContaining(podId)).toEqual([]);
      expect(existsSync(env.stateDir) ? readdirSync(env.stateDir) : []).toEqual([]);
    } finally {
      cri.close();
    }
  });
});
