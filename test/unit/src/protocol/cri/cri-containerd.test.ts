import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CriClient,
  ImageSpec,
  ImageStatusRequest,
  ListImagesRequest,
  ListPodSandboxRequest,
  NamespaceMode,
  PodSandboxConfig,
  PodSandboxState,
  PodSandboxStatusRequest,
  RemovePodSandboxRequest,
  RunPodSandboxRequest,
  StopPodSandboxRequest,
  VersionRequest,
} from '#src/protocol/cri/index.js';
import { startContainerd } from '#test/helpers/containerd.js';
import type { Containerd } from '#test/helpers/containerd.js';
import { PAUSE_IMAGE } from '#test/helpers/test-images.js';

const missing = ['containerd', 'ctr', 'runc', 'umoci'].filter(
  (bin) => spawnSync('sh', ['-c', 'command -v "$0"', bin]).status !== 0,
);
const notRoot = process.getuid?.() !== 0;
const skipReason =
  missing.length > 0
    ? `needs ${missing.join(', ')} on PATH`
    : notRoot
      ? 'needs root to run containerd with CRI'
      : undefined;
if (skipReason !== undefined) {
  console.log(`[skip] CriClient against containerd: ${skipReason}`);
}

describe.skipIf(skipReason !== undefined)('CriClient against containerd 1.6 CRI', () => {
  let containerd: Containerd | undefined;
  let cri: CriClient | undefined;
  const client = (): CriClient => {
    if (cri === undefined) throw new Error('containerd did not start');
    return cri;
  };

  beforeAll(async () => {
    containerd = await startContainerd({ cri: true, logLevel: 'info' });
    cri = new CriClient({ address: containerd.address });
  }, 300_000);

  afterAll(async () => {
    cri?.close();
    await containerd?.stop();
  }, 60_000);

  test('Version reports containerd speaking CRI v1', async () => {
    const v = await client().runtime.Version(VersionRequest.create({ version: 'v1' }));
    expect(v.runtime_name).toBe('containerd');
    expect(v.runtime_api_version).toBe('v1');
  });

  test('the imported pause image shows up in ListImages and ImageStatus', async () => {
    const list = await client().image.ListImages(ListImagesRequest.create({}));
    const tags = list.images.flatMap((i) => i.repo_tags);
    expect(tags).toContain(PAUSE_IMAGE);
    const st = await client().image.ImageStatus(
      ImageStatusRequest.create({ image: ImageSpec.create({ image: PAUSE_IMAGE }) }),
    );
    expect(st.image?.repo_tags).toContain(PAUSE_IMAGE);
    expect(st.image?.size).toBeGreaterThan(0);
  });

  test('status of an unknown sandbox is not_found', async () => {
    await expect(
      client().runtime.PodSandboxStatus(PodSandboxStatusRequest.create({ pod_sandbox_id: 'nope' })),
    ).rejects.toMatchObject({ kind: 'not_found', code: 'ERR_CRI_STATUS' });
  });

  test('a runc pod sandbox runs, is listed with its metadata, stops and is removed', async () => {
    const config = PodSandboxConfig.create({
      metadata: { name: 'cri-client-test', uid: 'uid-1', namespace: 'default', attempt: 0 },
      labels: { app: 'cri-client' },
      annotations: { 'example.com/k': 'v' },
      // host network (and so the host's UTS namespace, no hostname): the test containerd has only
      // a loopback CNI network, which yields no pod IP
      linux: { security_context: { namespace_options: { network: NamespaceMode.NODE } } },
    });
    const { pod_sandbox_id: id } = await client().runtime.RunPodSandbox(
      RunPodSandboxRequest.create({ config, runtime_handler: 'runc' }),
      { timeoutMs: 120_000 },
    );
    try {
      const st = await client().runtime.PodSandboxStatus(
        PodSandboxStatusRequest.create({ pod_sandbox_id: id }),
      );
      expect(st.status?.state).toBe(PodSandboxState.SANDBOX_READY);
      expect(st.status?.metadata?.name).toBe('cri-client-test');
      expect(st.status?.labels['app']).toBe('cri-client');
      expect(st.status?.annotations['example.com/k']).toBe('v');
      expect(st.status?.runtime_handler).toBe('runc');
      // nanoseconds since the epoch: beyond Number.MAX_SAFE_INTEGER, hence bigint
      expect(st.status?.created_at ?? 0n).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));
      const list = await client().runtime.ListPodSandbox(
        ListPodSandboxRequest.create({ filter: { label_selector: { app: 'cri-client' } } }),
      );
      expect(list.items.map((p) => p.id)).toEqual([id]);
    } finally {
      await client().runtime.StopPodSandbox(StopPodSandboxRequest.create({ pod_sandbox_id: id }));
      await client().runtime.RemovePodSandbox(
        RemovePodSandboxRequest.create({ pod_sandbox_id: id }),
      );
    }
    await expect(
      client().runtime.PodSandboxStatus(PodSandboxStatusRequest.create({ pod_sandbox_id: id })),
    ).rejects.toMatchObject({ kind: 'not_found' });
  }, 180_000);
});
