import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  ContainerStatusRequest,
  CreateContainerRequest,
  CriClient,
  PodSandboxConfig,
  PodSandboxStatusRequest,
  RunPodSandboxRequest,
} from '#src/protocol/cri/index.js';
import { makeKubeletVolume } from '#test/helpers/kubelet-volume.js';
import { BUSYBOX_IMAGE } from '#test/helpers/test-images.js';
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

describe.skipIf(env.problem !== '')(
  'CRI workload container with RuntimeClass handler kata-cc',
  () => {
    test('a second container gets its rootfs hot-plugged and a ConfigMap-style volume, runs, and its output reaches the CRI log', async () => {
      const cri = new CriClient({ address: env.address, timeoutMs: 240_000 });
      const logDir = mkdtempSync(join(tmpdir(), 'kata-cri-log-'));
      const configMap = makeKubeletVolume(join(logDir, 'app-config'), {
        'app.conf': 'greeting=hi',
        'conf.d/extra': 'extra=1',
      });
      try {
        const sandboxConfig = PodSandboxConfig.fromPartial({
          metadata: { name: 'cri-pod-2', uid: 'uid-cri-pod-2', namespace: 'default', attempt: 0 },
          hostname: 'cri-pod-2',
          log_directory: logDir,
        });
        const { pod_sandbox_id: podId } = await cri.runtime.RunPodSandbox(
          RunPodSandboxRequest.fromPartial({ config: sandboxConfig, runtime_handler: 'kata-cc' }),
        );
        const t0 = Date.now();
        const { container_id: cid } = await cri.runtime.CreateContainer(
          CreateContainerRequest.fromPartial({
            pod_sandbox_id: podId,
            sandbox_config: sandboxConfig,
            config: {
              metadata: { name: 'hello', attempt: 0 },
              image: { image: BUSYBOX_IMAGE },
              command: [
                'sh',
                '-c',
                'echo hello-from-hotplugged-rootfs; echo "cm=$(cat /etc/app/app.conf) $(cat /etc/app/conf.d/extra)"',
              ],
              // a ConfigMap-style volume in kubelet's layout reaches the guest as a copy (issue #8)
              mounts: [{ container_path: '/etc/app', host_path: configMap, readonly: true }],
              log_path: 'hello.log',
            },
          }),
        );
        await cri.runtime.StartContainer({ container_id: cid });
        let state = -1;
        for (let i = 0; i < 240 && state !== 2; i++) {
          const st = await cri.runtime.ContainerStatus(
            ContainerStatusRequest.fromPartial({ container_id: cid }),
          );
          state = st.status?.state ?? -1;
          if (state !== 2) await new Promise((r) => setTimeout(r, 500));
        }
        console.log(`CreateContainer → exited: ${Date.now() - t0} ms`);
        expect(state, shimLog(env, podId)).toBe(2); // CONTAINER_EXITED
        const log = readFileSync(join(logDir, 'hello.log'), 'utf8');
        expect(log).toMatch(/ stdout F hello-from-hotplugged-rootfs\n/);
        expect(log, shimLog(env, podId)).toMatch(/ stdout F cm=greeting=hi extra=1\n/);
        await cri.runtime.RemoveContainer({ container_id: cid });
        expect(shimLog(env, podId, 400), 'the rootfs disk is unplugged').toContain('disk detached');
        await cri.runtime.StopPodSandbox({ pod_sandbox_id: podId });
        await cri.runtime.RemovePodSandbox({ pod_sandbox_id: podId });
        await new Promise((r) => setTimeout(r, 500));
        expect(qemuPids(podId)).toEqual([]);
        expect(mountsContaining(podId)).toEqual([]);
        expect(existsSync(env.stateDir) ? readdirSync(env.stateDir) : []).toEqual([]);
      } finally {
        cri.close();
        rmSync(logDir, { recursive: true, force: true });
      }
    });
  },
);
