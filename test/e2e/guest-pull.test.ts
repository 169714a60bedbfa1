import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ContainerStatusRequest,
  CreateContainerRequest,
  CriClient,
  PodSandboxConfig,
  RunPodSandboxRequest,
} from '#src/protocol/cri/index.js';
import { BUSYBOX_IMAGE } from '#test/helpers/test-images.js';
import { buildImage, pushImage } from '#test/helpers/images.js';
import { registryUnavailableReason, startRegistry } from '#test/helpers/registry.js';
import {
  ctr,
  mountsContaining,
  podGatewayAddress,
  podVmEnv,
  qemuPids,
  shimLog,
} from './setup/pod-vm-env.js';

const env = podVmEnv();
if (env.problem !== '') console.log(`skipping VM tests: ${env.problem}`);

/** The host address guests reach (the CNI bridge gateway); empty without pod networking. */
function podGateway(): string | undefined {
  const gw = podGatewayAddress(env);
  return gw === '' ? undefined : gw;
}

/** Where the bytes of `needle` occur in the file, read in chunks (the disk file is sparse). */
async function scanFile(
  path: string,
  needles: readonly string[],
): Promise<{ found: string[]; nonZeroBlocks: number }> {
  const fh = await open(path, 'r');
  const found = new Set<string>();
  let nonZeroBlocks = 0;
  const chunk = Buffer.alloc(4 << 20);
  const overlap = 64;
  try {
    for (let off = 0; ; off += chunk.length - overlap) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, off);
      if (bytesRead === 0) break;
      const view = chunk.subarray(0, bytesRead);
      for (const n of needles) if (view.includes(n)) found.add(n);
      for (let b = 0; b < bytesRead; b += 4096)
        if (view.subarray(b, Math.min(b + 4096, bytesRead)).some((x) => x !== 0)) nonZeroBlocks++;
      if (bytesRead < chunk.length) break;
    }
  } finally {
    await fh.close();
  }
  return { found: [...found], nonZeroBlocks };
}

/** A config drop-in beside the e2e config: every shim started while it exists pulls in the guest. */
const DROP_IN = join(dirname(env.configPath), 'config.d', '50-guest-pull.toml');

function guestPullConfig(o: {
  timeoutS: number;
  diskMib: number;
  insecure?: string;
  /** `runtime.confidential = true` (which implies the guest pull) instead of `guest_pull`. */
  confidential?: boolean;
}): string {
  return [
    '[runtime]',
    o.confidential === true ? 'confidential = true' : 'guest_pull = true',
    `guest_pull_disk_mib = ${String(o.diskMib)}`,
    `image_pull_timeout_s = ${String(o.timeoutS)}`,
    ...(o.insecure === undefined
      ? []
      : ['[hypervisor]', `kernel_params = ["agent.insecure_registries=${o.insecure}"]`]),
    '',
  ].join('\n');
}

/** The guest console of a running pod (agent logs), for assertions and failure messages. */
function stateDirOf(podId: string): string | undefined {
  const dirs = existsSync(env.stateDir) ? readdirSync(env.stateDir) : [];
  const d = dirs.find((n) => n === podId || n.startsWith(`${podId.slice(0, 12)}-`));
  return d === undefined ? undefined : join(env.stateDir, d);
}

function consoleOf(podId: string): string {
  const d = stateDirOf(podId);
  const p = d === undefined ? '' : join(d, 'console.log');
  return p !== '' && existsSync(p) ? readFileSync(p, 'utf8') : '(no console log)';
}

/** The first guest log line with message `msg`, parsed. */
function guestLogLine(console_: string, msg: string): Record<string, unknown> | undefined {
  for (const line of console_.split('\n')) {
    const at = line.indexOf('{');
    if (at < 0 || !line.includes(`"msg":"${msg}"`)) continue;
    try {
      return JSON.parse(line.slice(at)) as Record<string, unknown>;
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

/** A number field of the first guest log line with message `msg`. */
function guestLogField(console_: string, msg: string, field: string): number | undefined {
  const v = guestLogLine(console_, msg)?.[field];
  return typeof v === 'number' ? v : undefined;
}

/** How many guest log lines carry message `msg`. */
function countGuestLog(console_: string, msg: string): number {
  return console_.split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).length;
}

/** Polls ContainerStatus until the container exited (state 2), up to 5 min; the last state. */
async function waitExited(cri: CriClient, cid: string): Promise<number> {
  let state = -1;
  for (let i = 0; i < 600 && state !== 2; i++) {
    const st = await cri.runtime.ContainerStatus(
      ContainerStatusRequest.fromPartial({ container_id: cid }),
    );
    state = st.status?.state ?? -1;
    if (state !== 2) await new Promise((r) => setTimeout(r, 500));
  }
  return state;
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

  test('a CRI container runs from the image the guest pulled; the scratch disk holds only ciphertext; a second container of the image shares the pull with its own writable layer', async (ctx) => {
    const gw = podGateway();
    const noRegistry = registryUnavailableReason();
    if (gw === undefined || noRegistry !== undefined) {
      console.log(
        `skipping the guest pull from a host registry: ${noRegistry ?? 'no pod network (PodVmEnv.podGateway) for the guest to reach the host'}`,
      );
      ctx.skip();
      return;
    }
    const marker = `kata-cc-guest-pull-${String(process.pid)}-${String(Date.now())}`;
    const reg = await startRegistry({ listen: gw });
    const image = `${reg.host}/guest-pull-e2e:1`;
    const cri = new CriClient({ address: env.address, timeoutMs: 600_000 });
    const logDir = mkdtempSync(join(tmpdir(), 'kata-gp-log-'));
    let podId = '';
    try {
      const layout = await buildImage({
        layers: [
          [{ kind: 'busybox', path: 'bin/busybox' }],
          [{ kind: 'file', path: 'etc/marker', content: `${marker}\n` }],
        ],
      });
      await pushImage(layout, reg.host, 'guest-pull-e2e:1');
      // CRI needs the image in containerd for the spec; the copy there has no marker, so the
      // output can only come from what the guest pulled
      const tag = await ctr(env, ['images', 'tag', '--force', BUSYBOX_IMAGE, image], {
        namespace: 'k8s.io',
      });
      expect(tag.code, tag.stderr).toBe(0);
      writeFileSync(DROP_IN, guestPullConfig({ timeoutS: 600, diskMib: 512, insecure: reg.host }));
      const config = PodSandboxConfig.fromPartial({
        metadata: {
          name: 'guest-pull-ok',
          uid: 'uid-guest-pull-ok',
          namespace: 'default',
          attempt: 0,
        },
        hostname: 'guest-pull-ok',
        log_directory: logDir,
      });
      ({ pod_sandbox_id: podId } = await cri.runtime.RunPodSandbox(
        RunPodSandboxRequest.fromPartial({ config, runtime_handler: 'kata-cc' }),
      ));
      const { container_id: cid } = await cri.runtime.CreateContainer(
        CreateContainerRequest.fromPartial({
          pod_sandbox_id: podId,
          sandbox_config: config,
          config: {
            metadata: { name: 'pulled', attempt: 0 },
            image: { image },
            // sync: the guest's page cache reaches the (encrypted) disk before the host scans it
            // the file written into its rootfs must not appear in the second container's
            command: [
              '/bin/busybox',
              'sh',
              '-c',
              'busybox cat /etc/marker; echo mine > /etc/written-by-first; busybox sync',
            ],
            log_path: 'pulled.log',
          },
        }),
      );
      await cri.runtime.StartContainer({ container_id: cid });
      const state = await waitExited(cri, cid);
      const console_ = consoleOf(podId);
      expect(state, `${shimLog(env, podId, 60)}\n${console_}`).toBe(2); // CONTAINER_EXITED
      expect(readFileSync(join(logDir, 'pulled.log'), 'utf8')).toContain(` stdout F ${marker}\n`);
      // guest_pull alone does not make a pod confidential (the confidential pod is the next test)
      expect(guestLogLine(console_, 'agent ready')).toMatchObject({ confidential: false });
      console.log(
        `guest pull in the VM: storage setup ${String(guestLogField(console_, 'encrypted image storage ready', 'ms'))} ms, pull ${String(guestLogField(console_, 'guest image pulled', 'ms'))} ms (${String(guestLogField(console_, 'guest image pulled', 'bytes'))} bytes)`,
      );
      const dir = stateDirOf(podId);
      expect(dir).toBeDefined();
      const scan = await scanFile(join(dir ?? '', 'image-scratch.raw'), [marker, 'BusyBox v1.']);
      expect(scan.found, 'plaintext of the image on the host-visible disk').toEqual([]);
      // the image (≥ 1 MiB of busybox) did reach the disk, as ciphertext
      expect(scan.nonZeroBlocks).toBeGreaterThan(256);
      // a second container of the same image in the pod: no second pull, its own writable layer
      const { container_id: cid2 } = await cri.runtime.CreateContainer(
        CreateContainerRequest.fromPartial({
          pod_sandbox_id: podId,
          sandbox_config: config,
          config: {
            metadata: { name: 'pulled-again', attempt: 0 },
            image: { image },
            command: [
              '/bin/busybox',
              'sh',
              '-c',
              'busybox cat /etc/marker; if busybox test -e /etc/written-by-first; then echo leaked; else echo isolated; fi',
            ],
            log_path: 'pulled-again.log',
          },
        }),
      );
      await cri.runtime.StartContainer({ container_id: cid2 });
      const console2 = consoleOf(podId);
      expect(await waitExited(cri, cid2), `${shimLog(env, podId, 60)}\n${console2}`).toBe(2);
      const out2 = readFileSync(join(logDir, 'pulled-again.log'), 'utf8');
      expect(out2).toContain(` stdout F ${marker}\n`);
      expect(out2).toContain(' stdout F isolated\n');
      const final = consoleOf(podId);
      expect(countGuestLog(final, 'guest image pulled'), final).toBe(1);
      expect(countGuestLog(final, 'guest image shared'), final).toBe(1);
    } finally {
      rmSync(DROP_IN, { force: true });
      if (podId !== '') await removePod(cri, podId);
      cri.close();
      await reg.stop();
      // the extra name would become the image name CRI reports for busybox in later tests
      await ctr(env, ['images', 'rm', image], { namespace: 'k8s.io' });
      rmSync(logDir, { recursive: true, force: true });
    }
  }, 1_200_000);

  // The pod is confidential (runtime.confidential, tee none): it also shows the agent in the guest
  // knows it (a report had `"confidential":false` in such a pod's "agent ready" line).
  test('a confidential pod: the agent says confidential; a pull over the timeout fails CreateContainer clearly', async () => {
    writeFileSync(DROP_IN, guestPullConfig({ timeoutS: 3, diskMib: 256, confidential: true }));
    const cri = new CriClient({ address: env.address, timeoutMs: 600_000 });
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
        /pulling image \S+ for container [0-9a-f]+ did not finish within the image pull timeout of 3 s \(agent.image_pull_timeout/,
      );
      expect(console_, 'the encrypted image storage was set up first').toContain(
        'encrypted image storage ready',
      );
      // both places the agent reports it: its readiness line and CreateSandbox
      expect(guestLogLine(console_, 'agent ready'), console_).toMatchObject({ confidential: true });
      expect(guestLogLine(console_, 'sandbox created'), console_).toMatchObject({
        confidential: true,
      });
    } finally {
      rmSync(DROP_IN, { force: true });
      if (podId !== '') await removePod(cri, podId);
      cri.close();
    }
    expect(existsSync(env.stateDir) ? readdirSync(env.stateDir) : []).toEqual([]);
  }, 900_000);
});
