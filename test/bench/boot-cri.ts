// `npm run bench -- boot`, part 3: CRI RunPodSandbox + CreateContainer + StartContainer to the
// container's first output line in its CRI log, with RuntimeClass handler kata-cc and with runc,
// through one private containerd (the test helper's: both handlers are configured).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateContainerRequest,
  CriClient,
  PodSandboxConfig,
  RunPodSandboxRequest,
} from '#src/protocol/cri/index.js';
import { startContainerd, type Containerd } from '#test/helpers/containerd.js';
import { BUSYBOX_IMAGE, importBusybox } from '#test/helpers/test-images.js';
import { waitForLine } from './wait-for-line.js';

export type CriHandler = 'kata-cc' | 'runc';

export interface CriPodTimings {
  readonly handler: CriHandler;
  /** RunPodSandbox sent → answered. */
  readonly runPodMs: number;
  /** RunPodSandbox sent → StartContainer answered. */
  readonly startedMs: number;
  /** RunPodSandbox sent → the container's first stdout line in its CRI log. */
  readonly firstLineMs: number;
}

export const CRI_BENCH_LINE = 'kata-cc-bench-hello';

export interface CriBench {
  readonly containerd: Containerd;
  podStart(handler: CriHandler, seq: number, signal: AbortSignal): Promise<CriPodTimings>;
  close(): Promise<void>;
}

/** Starts containerd with CRI (handlers kata-cc and runc) and busybox imported into k8s.io. */
export async function startCriBench(o: {
  readonly manifestPath: string;
  readonly memoryMib: number;
}): Promise<CriBench> {
  const dir = mkdtempSync(join(tmpdir(), 'kata-bench-cri-'));
  const configPath = join(dir, 'kata-cc.toml');
  writeFileSync(
    configPath,
    [
      '[hypervisor]',
      'accel = "tcg"',
      `memory_mib = ${o.memoryMib}`,
      '[guest]',
      `manifest = ${JSON.stringify(o.manifestPath)}`,
      '[agent]',
      'dial_timeout_ms = 300000',
      '[runtime]',
      `state_dir = ${JSON.stringify(join(dir, 'state'))}`,
      '',
    ].join('\n'),
  );
  let containerd: Containerd;
  try {
    containerd = await startContainerd({
      cri: true,
      logLevel: 'info',
      env: { KATA_CC_CONFIG: configPath, KATA_CC_SHIM_LOG_DIR: join(dir, 'shim-logs') },
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const cri = new CriClient({ address: containerd.address, timeoutMs: 600_000 });
  const close = async (): Promise<void> => {
    cri.close();
    await containerd.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await importBusybox(containerd, 'k8s.io');
  } catch (err) {
    await close();
    throw err;
  }
  return {
    containerd,
    podStart: (handler, seq, signal) => podStartOnce(cri, dir, handler, seq, signal),
    close,
  };
}

async function podStartOnce(
  cri: CriClient,
  parent: string,
  handler: CriHandler,
  seq: number,
  outer: AbortSignal,
): Promise<CriPodTimings> {
  const name = `bench-${handler}-${seq}`;
  const logDir = mkdtempSync(join(parent, `log-${name}-`));
  const signal = AbortSignal.any([outer, AbortSignal.timeout(600_000)]);
  const sandboxConfig = PodSandboxConfig.fromPartial({
    metadata: { name, uid: `uid-${name}`, namespace: 'default', attempt: 0 },
    hostname: name,
    log_directory: logDir,
  });
  const t0 = performance.now();
  const { pod_sandbox_id: podId } = await cri.runtime.RunPodSandbox(
    RunPodSandboxRequest.fromPartial({ config: sandboxConfig, runtime_handler: handler }),
    { signal },
  );
  try {
    const runPodMs = performance.now() - t0;
    const { container_id: cid } = await cri.runtime.CreateContainer(
      CreateContainerRequest.fromPartial({
        pod_sandbox_id: podId,
        sandbox_config: sandboxConfig,
        config: {
          metadata: { name: 'hello', attempt: 0 },
          image: { image: BUSYBOX_IMAGE },
          command: ['echo', CRI_BENCH_LINE],
          log_path: 'hello.log',
        },
      }),
      { signal },
    );
    const line = waitForLine(join(logDir, 'hello.log'), (l) => l.includes(CRI_BENCH_LINE), {
      signal,
      what: `first output line of ${handler} container ${cid}`,
    });
    line.catch(() => undefined);
    await cri.runtime.StartContainer({ container_id: cid }, { signal });
    const startedMs = performance.now() - t0;
    const seen = await line;
    return { handler, runPodMs, startedMs, firstLineMs: seen.at - t0 };
  } finally {
    await cri.runtime.StopPodSandbox({ pod_sandbox_id: podId }, { timeoutMs: 60_000 });
    await cri.runtime.RemovePodSandbox({ pod_sandbox_id: podId }, { timeoutMs: 60_000 });
    rmSync(logDir, { recursive: true, force: true });
  }
}
