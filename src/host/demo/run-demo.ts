import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CcError, runProgram, sleep, type Env } from '#src/lib/index.js';
import {
  ContainerConfig,
  ContainerState,
  CriClient,
  PodSandboxConfig,
} from '#src/protocol/cri/index.js';
import { buildBusyboxLayout, pushLayout, tarLayout } from './demo-images.js';
import { DemoSteps } from './demo-steps.js';
import { startLocalRegistry, type LocalRegistry } from './local-registry.js';
import { startPrivateContainerd, type PrivateContainerd } from './private-containerd.js';

export interface DemoOptions {
  readonly projectRoot: string;
  readonly out: NodeJS.WritableStream;
  readonly env: Env;
  readonly signal: AbortSignal;
  /** Keep the demo's folder (logs, console, state) instead of removing it. */
  readonly keep: boolean;
  readonly accel: 'auto' | 'kvm' | 'tcg';
}

const SANDBOX_IMAGE = 'localhost/pause:3.9';
const POD_COMMAND =
  'echo hello from a kata-cc pod VM; echo kernel: $(uname -r); echo cpus: $(nproc); ' +
  "echo pod network: eth0 $(ip -o -4 addr show eth0 | awk '{print $4}') via $(ip route | awk '/ via / {print $3; exit}')";

async function guestImage(o: DemoOptions): Promise<{ manifest: string; kernelRelease: string }> {
  const bundle = join(o.projectRoot, 'dist', 'guest-build.mjs');
  if (!existsSync(bundle))
    throw new CcError(
      'failed_precondition',
      'ERR_DEMO_BUILD',
      `${bundle} is missing: run npm run build`,
    );
  const r = await runProgram([process.execPath, bundle, '--json'], {
    signal: o.signal,
    env: o.env,
  });
  const manifest = (JSON.parse(r.stdout) as { manifest: string }).manifest;
  const m = JSON.parse(readFileSync(manifest, 'utf8')) as { kernelRelease?: string };
  return { manifest, kernelRelease: m.kernelRelease ?? '?' };
}

function writeKataConfig(dir: string, manifest: string, accel: string): string {
  const path = join(dir, 'kata-cc.toml');
  const lines = [
    '[hypervisor]',
    `accel = "${accel}"`,
    '[guest]',
    `manifest = ${JSON.stringify(manifest)}`,
    '[runtime]',
    `state_dir = ${JSON.stringify(join(dir, 'ks'))}`,
    '',
  ];
  writeFileSync(path, lines.join('\n'));
  return path;
}

async function waitExited(cri: CriClient, id: string, signal: AbortSignal): Promise<number> {
  for (;;) {
    const st = await cri.runtime.ContainerStatus({ container_id: id, verbose: false }, { signal });
    if (st.status?.state === ContainerState.CONTAINER_EXITED) return st.status.exit_code;
    await sleep(200, signal);
  }
}

function criLogLines(path: string): string[] {
  if (!existsSync(path)) return [];
  // CRI log format: <RFC3339> <stream> <P|F> <text>
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ').slice(3).join(' '));
}

function qemuRunning(stateDir: string): boolean {
  return readdirSync('/proc').some((p) => {
    if (!/^\d+$/.test(p)) return false;
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(stateDir);
    } catch {
      return false;
    }
  });
}

async function removePod(cri: CriClient, podId: string): Promise<void> {
  const timeoutMs = 120_000;
  await cri.runtime.StopPodSandbox({ pod_sandbox_id: podId }, { timeoutMs });
  await cri.runtime.RemovePodSandbox({ pod_sandbox_id: podId }, { timeoutMs });
}

/** Lazily unmounts whatever containerd left mounted below `dir` (deepest first). */
async function unmountBelow(dir: string): Promise<void> {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await runProgram(['umount', '-l', p]).catch(() => undefined);
}

/** The demo: a kata-cc pod end to end through containerd's CRI on loopback, step by step. */
export async function runDemo(o: DemoOptions): Promise<void> {
  // under /run: the per-sandbox agent socket path must stay below 108 bytes
  const dir = mkdtempSync(join(existsSync('/run') ? '/run' : tmpdir(), 'kcc-demo-'));
  const steps = new DemoSteps(o.out, 9);
  let registry: LocalRegistry | undefined;
  let containerd: PrivateContainerd | undefined;
  let cri: CriClient | undefined;
  let podId: string | undefined;
  const sig = o.signal;
  try {
    const image = await steps.step(
      'guest image (kernel, initramfs, dm-verity root)',
      () => guestImage(o),
      (g) => `kernel ${g.kernelRelease}, ${g.manifest}`,
    );
    registry = await steps.step(
      'local OCI registry on loopback',
      () => startLocalRegistry(join(dir, 'registry'), sig),
      (r) => r.host,
    );
    const reg = registry;
    const cache = join(o.projectRoot, '.cache', 'demo-images');
    const ref = `${reg.host}/demo/busybox:latest`;
    await steps.step(
      'build busybox and pause images and push busybox',
      async () => {
        const busybox = await buildBusyboxLayout(
          cache,
          { name: 'busybox', tag: 'latest', cmd: ['sh'] },
          sig,
        );
        await pushLayout(busybox, 'latest', ref, sig);
      },
      () => ref,
    );
    const config = writeKataConfig(dir, image.manifest, o.accel);
    containerd = await steps.step(
      'containerd with CRI and the kata-cc runtime handler',
      async () => {
        const c = await startPrivateContainerd({
          dir: join(dir, 'containerd'),
          shimBundle: join(o.projectRoot, 'dist', 'containerd-shim-kata-cc-v2.mjs'),
          sandboxImage: SANDBOX_IMAGE,
          insecureRegistries: [reg.host],
          env: { ...o.env, KATA_CC_CONFIG: config },
          signal: sig,
        });
        const pause = await buildBusyboxLayout(
          cache,
          {
            name: 'pause',
            tag: '3.9',
            cmd: [],
            entrypoint: [
              '/bin/sh',
              '-c',
              "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done",
            ],
          },
          sig,
        );
        await c.ctr([
          'images',
          'import',
          '--base-name',
          'localhost/pause',
          await tarLayout(pause, join(dir, 'pause.tar'), sig),
        ]);
        return c;
      },
      (c) => c.address,
    );
    cri = new CriClient({ address: containerd.address, timeoutMs: 300_000 });
    const client = cri;
    await steps.step(
      'CRI PullImage (containerd, from the local registry)',
      () =>
        client.image.PullImage(
          {
            image: {
              image: ref,
              annotations: {},
              user_specified_image: ref,
              runtime_handler: '',
              image_ref: '',
            },
          },
          { signal: sig },
        ),
      (r) => r.image_ref,
    );
    const logDir = join(dir, 'pod-logs');
    const podConfig = PodSandboxConfig.fromPartial({
      metadata: { name: 'demo', uid: 'demo-uid', namespace: 'default', attempt: 0 },
      hostname: 'demo',
      log_directory: logDir,
    });
    const pod = await steps.step(
      'RunPodSandbox (handler kata-cc): the pod VM boots',
      async () =>
        (
          await client.runtime.RunPodSandbox(
            { config: podConfig, runtime_handler: 'kata-cc' },
            { signal: sig },
          )
        ).pod_sandbox_id,
      (id) => `sandbox ${id.slice(0, 12)}`,
    );
    podId = pod;
    const cid = await steps.step('CreateContainer + StartContainer in the pod VM', async () => {
      const created = await client.runtime.CreateContainer(
        {
          pod_sandbox_id: pod,
          sandbox_config: podConfig,
          config: ContainerConfig.fromPartial({
            metadata: { name: 'hello', attempt: 0 },
            image: { image: ref, user_specified_image: ref },
            command: ['sh', '-c', POD_COMMAND],
            working_dir: '/',
            log_path: 'hello.log',
          }),
        },
        { signal: sig },
      );
      await client.runtime.StartContainer({ container_id: created.container_id }, { signal: sig });
      return created.container_id;
    });
    await steps.step(
      'container output (CRI log file)',
      async () => {
        const code = await waitExited(client, cid, sig);
        await sleep(300, sig);
        for (const line of criLogLines(join(logDir, 'hello.log'))) steps.say(`| ${line}`);
        return code;
      },
      (code) => `exit code ${code}`,
    );
    await steps.step(
      'StopPodSandbox + RemovePodSandbox',
      async () => {
        await removePod(client, pod);
        podId = undefined;
        return qemuRunning(join(dir, 'ks'));
      },
      (left) => (left ? 'a QEMU process is still running!' : 'no QEMU left'),
    );
    const total = steps.records.reduce((a, r) => a + r.ms, 0);
    o.out.write(
      `\ndemo finished in ${(total / 1000).toFixed(1)} s; logs: ${o.keep ? dir : '(removed; pass --keep to keep them)'}\n`,
    );
  } finally {
    // a failed run still tears its pod down, so no VM, shim or mount is left behind
    if (cri && podId !== undefined) await removePod(cri, podId).catch(() => undefined);
    cri?.close();
    await containerd?.stop();
    await registry?.stop();
    await unmountBelow(dir);
    if (!o.keep)
      await rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
  }
}
