import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CreateContainerRequest,
  CriClient,
  PodSandboxConfig,
  RunPodSandboxRequest,
} from '#src/protocol/cri/index.js';
import { BUSYBOX_IMAGE } from '#test/helpers/test-images.js';
import { mountsContaining, podVmEnv, qemuPids, shimLog } from './setup/pod-vm-env.js';

const env = podVmEnv();
if (env.problem !== '') console.log(`skipping VM tests: ${env.problem}`);

/** A config drop-in beside the e2e config: every shim started while it exists pulls in the guest. */
const DROP_IN = join(dirname(env.configPath), 'config.d', '50-guest-pull.toml');

function guestPullConfig(o: { timeoutS: number; diskMib: number; insecure?: string }): string {
  return [
    '[runtime]',
    'guest_pull = true',
    `guest_pull_disk_mib = ${String(o.diskMib)}`,
    `image_pull_timeout_s = ${String(o.timeoutS)}`,
    ...(o.insecure === undefined
      ? []
      : ['[hypervisor]', `kernel_params = ["agent.insecure_registries=${o.insecure}"]`]),
    '',
  ].join('\n');
}

/** The guest console of a running pod (agent logs), for assertions and failure messages. */
function consoleOf(podId: string): string {
  const dirs = existsSync(env.stateDir) ? readdirSync(env.stateDir) : [];
  const d = dirs.find((n) => n === podId || n.startsWith(`${podId.slice(0, 12)}-`));
  const p = d === undefined ? '' : join(env.stateDir, d, 'console.log');
  return p !== '' && existsSync(p) ? readFileSync(p, 'utf8') : '(no console log)';
}

async function runPod(
  cri: CriClient,
  name: string,
): Promise<{ podId: string; config: PodSandboxConfig }> {
  const config = PodSandboxConfig.fromPartial({
    metadata: { name, uid: `uid-${name}`, namespace: 'default', attempt: 0 },
    hostname: name,
    log_directory: '',
  });
  const { pod_sandbox_id: podId } = await cri.runtime.RunPodSandbox(
    RunPodSandboxRequest.fromPartial({ config, runtime_handler: 'kata-cc' }),
  );
  return { podId, config };
}

async function removePod(cri: CriClient, podId: string): Promise<void> {
  await cri.runtime.StopPodSandbox({ pod_sandbox_id: podId });
  await cri.runtime.RemovePodSandbox({ pod_sandbox_id: podId });
  await new Promise((r) => setTimeout(r, 500));
  expect(qemuPids(podId)).toEqual([]);
  expect(mountsContaining(podId)).toEqual([]);
}

describe.skipIf(env.problem !== '')('guest image pull (runtime.guest_pull)', () => {
  beforeAll(() => {
    mkdirSync(dirname(DROP_IN), { recursive: true });
  });
  afterAll(() => {
    rmSync(DROP_IN, { force: true });
  });

  test('a pull that exceeds the image pull timeout fails CreateContainer with a clear error', async () => {
    writeFileSync(DROP_IN, guestPullConfig({ timeoutS: 3, diskMib: 256 }));
    const cri = new CriClient({ address: env.address, timeoutMs: 240_000 });
    let podId = '';
    try {
      const pod = await runPod(cri, 'guest-pull-timeout');
      podId = pod.podId;
      const { container_id: cid } = await cri.runtime.CreateContainer(
        CreateContainerRequest.fromPartial({
          pod_sandbox_id: podId,
          sandbox_config: pod.config,
          config: {
            metadata: { name: 'never', attempt: 0 },
            image: { image: BUSYBOX_IMAGE },
            command: ['true'],
          },
        }),
      );
      // CRI creates the task (the agent's CreateContainer) at StartContainer. The guest's
      // localhost:443 refuses: the registry client retries with back-off until the 3 s pull
      // timeout ends it.
      const err = await cri.runtime.StartContainer({ container_id: cid }).catch((e: unknown) => e);
      const console_ = consoleOf(podId);
      expect(err, shimLog(env, podId, 80)).toBeInstanceOf(Error);
      expect((err as Error).message, `${shimLog(env, podId, 80)}\n${console_}`).toMatch(
        /pulling image localhost\/busybox:latest for container [0-9a-f]+ did not finish within the image pull timeout of 3 s \(agent.image_pull_timeout/,
      );
      expect(console_, 'the encrypted image storage was set up first').toContain(
        'encrypted image storage ready',
      );
    } finally {
      rmSync(DROP_IN, { force: true });
      if (podId !== '') await removePod(cri, podId);
      cri.close();
    }
    expect(existsSync(env.stateDir) ? readdirSync(env.stateDir) : []).toEqual([]);
  });
});
