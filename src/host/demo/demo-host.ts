import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CcError, runProgram, sleep, type Env } from '#src/lib/index.js';
import { ContainerState, type CriClient } from '#src/protocol/cri/index.js';

/** Builds or reuses the guest image through `dist/guest-build.mjs --json`. */
export async function guestImage(
  projectRoot: string,
  env: Env,
  signal: AbortSignal,
): Promise<{ manifest: string; kernelRelease: string }> {
  const bundle = join(projectRoot, 'dist', 'guest-build.mjs');
  if (!existsSync(bundle))
    throw new CcError(
      'failed_precondition',
      'ERR_DEMO_BUILD',
      `${bundle} is missing: run npm run build`,
    );
  const r = await runProgram([process.execPath, bundle, '--json'], { signal, env });
  const manifest = (JSON.parse(r.stdout) as { manifest: string }).manifest;
  const m = JSON.parse(readFileSync(manifest, 'utf8')) as { kernelRelease?: string };
  return { manifest, kernelRelease: m.kernelRelease ?? '?' };
}

/**
 * The demo's kata-cc config file (the shims find it through KATA_CC_CONFIG): confidential pods pull
 * their image in the guest into an encrypted scratch disk of 512 MiB.
 */
export function writeKataConfig(dir: string, manifest: string, accel: string): string {
  const path = join(dir, 'kata-cc.toml');
  const lines = [
    '[hypervisor]',
    `accel = "${accel}"`,
    '[guest]',
    `manifest = ${JSON.stringify(manifest)}`,
    '[runtime]',
    `state_dir = ${JSON.stringify(join(dir, 'ks'))}`,
    'confidential = true',
    'guest_pull_disk_mib = 512',
    'image_pull_timeout_s = 600',
    '',
  ];
  writeFileSync(path, lines.join('\n'));
  return path;
}

export async function waitExited(cri: CriClient, id: string, signal: AbortSignal): Promise<number> {
  for (;;) {
    const st = await cri.runtime.ContainerStatus({ container_id: id, verbose: false }, { signal });
    if (st.status?.state === ContainerState.CONTAINER_EXITED) return st.status.exit_code;
    await sleep(200, signal);
  }
}

/** The text of a CRI log file (`<RFC3339> <stream> <P|F> <text>` lines). */
export function criLogLines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ').slice(3).join(' '));
}

/** Pids of live processes whose command line contains `needle`. */
export function processesWith(needle: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Whether process `pid` is still alive (a zombie counts as gone). */
export function alive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${String(pid)}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export async function removePod(cri: CriClient, podId: string): Promise<void> {
  const timeoutMs = 120_000;
  await cri.runtime.StopPodSandbox({ pod_sandbox_id: podId }, { timeoutMs });
  await cri.runtime.RemovePodSandbox({ pod_sandbox_id: podId }, { timeoutMs });
}

/** Lazily unmounts whatever containerd left mounted below `dir` (deepest first). */
export async function unmountBelow(dir: string): Promise<void> {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await runProgram(['umount', '-l', p]).catch(() => undefined);
}
