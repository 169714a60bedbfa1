import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  ContainerState,
  ContainerStatusRequest,
  CreateContainerRequest,
  CriClient,
  ExecSyncRequest,
  PodSandboxConfig,
  RunPodSandboxRequest,
} from '#src/protocol/cri/index.js';
import { socketAddress, socketPathOf } from '#src/host/shim/index.js';
import { BUSYBOX_IMAGE } from '#test/helpers/test-images.js';
import { mountsContaining, podVmEnv, qemuPids, shimLog } from './setup/pod-vm-env.js';

const env = podVmEnv();
if (env.problem !== '') console.log(`skipping VM tests: ${env.problem}`);

async function until(pred: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pred()) return true;
    await new Promise((r) => setTimeout(r, 300));
  }
  return pred();
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** A CRI log line: RFC 3339 nanosecond time, stream, tag (F full / P partial), content. */
const CRI_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) (stdout|stderr) [FP] .*$/;

describe.skipIf(env.problem !== '')(
  'CRI pod with two workload containers (handler kata-cc)',
  () => {
    test(
      'both share one VM, log to their CRI files, ExecSync works with a timeout, nothing is left',
      { timeout: 480_000 },
      async () => {
        const cri = new CriClient({ address: env.address, timeoutMs: 120_000 });
        const logDir = mkdtempSync(join(tmpdir(), 'kata-cri-two-'));
        try {
          const sandboxConfig = PodSandboxConfig.fromPartial({
            metadata: { name: 'cri-two', uid: 'uid-cri-two', namespace: 'default', attempt: 0 },
            hostname: 'cri-two',
            log_directory: logDir,
          });
          const { pod_sandbox_id: podId } = await cri.runtime.RunPodSandbox(
            RunPodSandboxRequest.fromPartial({ config: sandboxConfig, runtime_handler: 'kata-cc' }),
          );
          const why = (): string => shimLog(env, podId, 60);
          const ids: string[] = [];
          for (const name of ['alpha', 'beta']) {
            const script = `echo ${name}-out; echo ${name}-err >&2; while :; do sleep 1; done`;
            const { container_id: cid } = await cri.runtime.CreateContainer(
              CreateContainerRequest.fromPartial({
                pod_sandbox_id: podId,
                sandbox_config: sandboxConfig,
                config: {
                  metadata: { name, attempt: 0 },
                  image: { image: BUSYBOX_IMAGE },
                  command: ['sh', '-c', script],
                  log_path: `${name}.log`,
                },
              }),
            );
            await cri.runtime.StartContainer({ container_id: cid });
            ids.push(cid);
          }
          const [alpha = '', beta = ''] = ids;
          for (const cid of ids) {
            const st = await cri.runtime.ContainerStatus(
              ContainerStatusRequest.fromPartial({ container_id: cid }),
            );
            expect(st.status?.state, why()).toBe(ContainerState.CONTAINER_RUNNING);
          }
          expect(qemuPids(podId).length, 'exactly one QEMU for the pod').toBe(1);
          expect(shimLog(env, podId, 1000).match(/disk attached/g)?.length, why()).toBe(2);

          // logs of both containers reach their own CRI log files, in CRI format
          for (const name of ['alpha', 'beta']) {
            const file = join(logDir, `${name}.log`);
            const ok = await until(
              () =>
                readLog(file).includes(` stdout F ${name}-out\n`) &&
                readLog(file).includes(` stderr F ${name}-err\n`),
            );
            expect(ok, `${file}:\n${readLog(file)}\n${why()}`).toBe(true);
            for (const line of readLog(file).trimEnd().split('\n')) expect(line).toMatch(CRI_LINE);
            expect(readLog(file)).not.toContain(name === 'alpha' ? 'beta-' : 'alpha-');
          }

          // ExecSync: stdout, stderr and the exit code come back apart
          const r = await cri.runtime.ExecSync(
            ExecSyncRequest.fromPartial({
              container_id: alpha,
              cmd: ['sh', '-c', 'echo exec-out; echo exec-err >&2; exit 3'],
              timeout: 60n,
            }),
          );
          expect(r.stdout.toString(), why()).toBe('exec-out\n');
          expect(r.stderr.toString()).toBe('exec-err\n');
          expect(r.exit_code).toBe(3);

          // the two containers run on the same guest kernel (one VM), not the host's
          const bootIds: string[] = [];
          for (const cid of ids) {
            const b = await cri.runtime.ExecSync(
              ExecSyncRequest.fromPartial({
                container_id: cid,
                cmd: ['cat', '/proc/sys/kernel/random/boot_id'],
                timeout: 60n,
              }),
            );
            expect(b.exit_code, b.stderr.toString()).toBe(0);
            bootIds.push(b.stdout.toString().trim());
          }
          expect(bootIds[0]).toMatch(/^[0-9a-f-]{36}$/);
          expect(bootIds[1]).toBe(bootIds[0]);
          const hostBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
          expect(bootIds[0]).not.toBe(hostBootId);

          // a command that outlives its timeout fails ExecSync and is killed; the container lives on
          const timedOut = await cri.runtime
            .ExecSync(
              ExecSyncRequest.fromPartial({
                container_id: beta,
                cmd: ['sleep', '600'],
                timeout: 2n,
              }),
            )
            .then(
              () => undefined,
              (e: unknown) => e as Error,
            );
          expect(timedOut?.message, why()).toMatch(/timeout 2s exceeded/);
          const noSleeper = async (): Promise<boolean> => {
            const ps = await cri.runtime.ExecSync(
              ExecSyncRequest.fromPartial({
                container_id: beta,
                cmd: ['sh', '-c', 'ps -o args | grep -c "^sleep 600$" || true'],
                timeout: 60n,
              }),
            );
            return ps.stdout.toString().trim() === '0';
          };
          expect(await until(noSleeper, 30_000), `the timed-out exec was killed\n${why()}`).toBe(
            true,
          );

          await cri.runtime.StopPodSandbox({ pod_sandbox_id: podId });
          for (const cid of ids) {
            const st = await cri.runtime.ContainerStatus(
              ContainerStatusRequest.fromPartial({ container_id: cid }),
            );
            expect(st.status?.state, why()).toBe(ContainerState.CONTAINER_EXITED);
          }
          await cri.runtime.RemovePodSandbox({ pod_sandbox_id: podId });
          expect(await until(() => qemuPids(podId).length === 0, 30_000), 'no QEMU left').toBe(
            true,
          );
          expect(mountsContaining(podId)).toEqual([]);
          for (const cid of ids) expect(mountsContaining(cid)).toEqual([]);
          expect(existsSync(env.stateDir) ? readdirSync(env.stateDir) : []).toEqual([]);
          const sock = socketPathOf(socketAddress(env.address, 'k8s.io', podId));
          expect(existsSync(sock), `shim socket ${sock} removed`).toBe(false);
        } finally {
          cri.close();
          rmSync(logDir, { recursive: true, force: true });
        }
      },
    );
  },
);
