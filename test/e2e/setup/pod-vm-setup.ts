/**
 * vitest globalSetup of the e2e project: ONE containerd (CRI on) and ONE guest image for every VM
 * test file, so the suite stays fast on 2 cores. Files run one after another (fileParallelism off).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startContainerd, type Containerd } from '#test/helpers/containerd.js';
import { ensureGuestImage } from '#test/helpers/guest-image.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { importBusybox } from '#test/helpers/test-images.js';
import type { PodVmEnv } from './pod-vm-env.js';

let containerd: Containerd | undefined;
let dir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  const shim = join(PROJECT_ROOT, 'dist', 'containerd-shim-kata-cc-v2.mjs');
  const agent = join(PROJECT_ROOT, 'dist', 'guest', 'kata-agent.mjs');
  let problem = '';
  if (!existsSync(shim) || !existsSync(agent))
    problem = `run npm run build first (${shim} / ${agent} missing)`;
  let manifest = '';
  if (problem === '') {
    try {
      const built = await ensureGuestImage(PROJECT_ROOT);
      manifest = join(PROJECT_ROOT, '.cache', 'guest', built.inputsHash, 'manifest.json');
      if (!existsSync(manifest)) problem = `guest image manifest ${manifest} is missing`;
    } catch (err) {
      problem = `cannot build the guest image: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  dir = mkdtempSync(join(tmpdir(), 'kata-cc-e2e-'));
  const stateDir = join(dir, 'kata-state');
  const logDir = join(dir, 'shim-logs');
  mkdirSync(logDir);
  const configPath = join(dir, 'kata-cc.toml');
  writeFileSync(
    configPath,
    [
      '[hypervisor]',
      'accel = "tcg"',
      'memory_mib = 256',
      '[guest]',
      `manifest = ${JSON.stringify(manifest)}`,
      '[agent]',
      // 5 concurrent pods on 2 loaded cores take minutes to boot under TCG
      'dial_timeout_ms = 420000',
      'request_timeout_ms = 120000',
      '[runtime]',
      `state_dir = ${JSON.stringify(stateDir)}`,
      'log_level = "debug"',
      '',
    ].join('\n'),
  );
  containerd = await startContainerd({
    cri: true,
    // task and agent calls are traced into the shim logs that failing tests print
    env: { KATA_CC_CONFIG: configPath, KATA_CC_SHIM_LOG_DIR: logDir, CC_TRACE: 'task,agent' },
  });
  await importBusybox(containerd, 'default');
  await importBusybox(containerd, 'k8s.io');
  const env: PodVmEnv = {
    address: containerd.address,
    ttrpcAddress: containerd.ttrpcAddress,
    state: containerd.state,
    logPath: containerd.logPath,
    configPath,
    stateDir,
    logDir,
    manifest,
    problem,
    podGateway: containerd.podGateway ?? '',
    podSubnet: containerd.podSubnet ?? '',
  };
  project.provide('podVmEnv', env);
}

export async function teardown(): Promise<void> {
  await containerd?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}
