// `npm run bench -- boot`: how long the guest takes to boot under QEMU on this host.
// Part 1 (here): bare boot of kernel + image to our init's "root verified" marker, and to the first
// line node prints (the test payload standing in for the agent). The shim half ("shim Create to agent
// ready") and the CRI-vs-runc half reuse bootGuestOnce / BootTimings below.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST_INIT_MARKERS } from '#guest/build/index.js';
import {
  startVm,
  waitForConsoleMarker,
  type AccelMode,
  type VmSpec,
} from '#src/host/hypervisor/index.js';
import {
  ensureTestGuestImage,
  TEST_PAYLOAD_MARKER,
  type GuestManifest,
} from '#test/helpers/guest-image.js';
import {
  median,
  type BenchContext,
  type BenchFigure,
  type Benchmark,
  type BenchResult,
} from './benchmark.js';

export const QEMU_BINARY = '/usr/bin/qemu-system-x86_64';

export interface BootTimings {
  /** startVm returned (QEMU spawned, QMP answering). */
  readonly qmpMs: number;
  /** Our init printed "root verified" (modules loaded, dm-verity root opened and mounted). */
  readonly initMs: number;
  /** Node printed its first line in the guest. */
  readonly nodeMs: number;
  /** QEMU's CPU time (user + system) at the init marker and at node's first line: steadier than wall time on a busy host. */
  readonly initCpuMs: number;
  readonly nodeCpuMs: number;
  readonly accel: string;
}

/** CPU time (user + system) a process has used, from /proc/<pid>/stat, in ms. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

export interface BootOnceOptions {
  readonly manifest: GuestManifest;
  readonly machine?: 'q35' | 'microvm' | undefined;
  readonly accel?: AccelMode | undefined;
  readonly memoryMib?: number | undefined;
  readonly projectRoot: string;
  readonly signal: AbortSignal;
}

/** A VmSpec for the guest image in a fresh folder (which the caller removes). */
export function guestVmSpec(
  manifest: GuestManifest,
  dir: string,
  id: string,
  o: Partial<VmSpec> = {},
): VmSpec {
  return {
    id,
    cpus: 1,
    memoryMib: 256,
    kernel: manifest.kernel,
    initrd: manifest.initrd,
    rootDisk: { path: manifest.rootfs, verityRootHash: manifest.verityRootHash },
    kernelParams: manifest.kernelParams,
    agentChannel: { kind: 'virtio-serial', socketPath: join(dir, 'agent.sock') },
    disks: [],
    tee: { kind: 'none' },
    stateDir: join(dir, 'state'),
    consoleLogPath: join(dir, 'console.log'),
    ...o,
  };
}

/** Boots once, times the markers from the moment startVm is called, stops the VM. */
export async function bootGuestOnce(o: BootOnceOptions): Promise<BootTimings> {
  const dir = mkdtempSync(join(tmpdir(), 'kata-bench-boot-'));
  try {
    const spec = guestVmSpec(o.manifest, dir, 'bench-boot', {
      machine: o.machine,
      memoryMib: o.memoryMib ?? 256,
    });
    const t0 = performance.now();
    const vm = await startVm(spec, {
      qemuBinary: QEMU_BINARY,
      accel: o.accel ?? 'auto',
      probeCacheDir: join(o.projectRoot, '.cache', 'hypervisor'),
      signal: o.signal,
    });
    try {
      const qmpMs = performance.now() - t0;
      const wait = {
        signal: AbortSignal.any([o.signal, AbortSignal.timeout(180_000)]),
        exited: vm.exited,
        pollMs: 10,
      };
      await waitForConsoleMarker(spec.consoleLogPath, GUEST_INIT_MARKERS.ready, wait);
      const initMs = performance.now() - t0;
      const initCpuMs = processCpuMs(vm.pid);
      await waitForConsoleMarker(spec.consoleLogPath, TEST_PAYLOAD_MARKER, wait);
      const nodeMs = performance.now() - t0;
      return { qmpMs, initMs, nodeMs, initCpuMs, nodeCpuMs: processCpuMs(vm.pid), accel: vm.accel };
    } finally {
      await vm.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** min / median figures of several runs of one timing. */
export function minMedian(label: string, values: readonly number[]): BenchFigure[] {
  return [
    { label: `${label} min`, value: Math.min(...values), unit: 'ms' },
    { label: `${label} median`, value: median(values), unit: 'ms' },
  ];
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  ctx.progress('ensuring the test guest image');
  const manifest = await ensureTestGuestImage(ctx.projectRoot);
  const runs: BootTimings[] = [];
  for (let i = 0; i < 3; i++) {
    const t = await bootGuestOnce({ manifest, projectRoot: ctx.projectRoot, signal: ctx.signal });
    ctx.progress(
      `boot ${i + 1}: qmp ${t.qmpMs.toFixed(0)} ms, init ${t.initMs.toFixed(0)} ms, node ${t.nodeMs.toFixed(0)} ms, qemu cpu ${t.initCpuMs.toFixed(0)}/${t.nodeCpuMs.toFixed(0)} ms (${t.accel})`,
    );
    runs.push(t);
  }
  const init = runs.map((r) => r.initMs);
  const node = runs.map((r) => r.nodeMs);
  const nodeOnly = runs.map((r) => r.nodeMs - r.initMs);
  return {
    figures: [
      ...minMedian(
        'q35 spawn → QMP ready',
        runs.map((r) => r.qmpMs),
      ),
      ...minMedian('q35 spawn → init root verified (bare boot)', init),
      ...minMedian('q35 spawn → node first line', node),
      ...minMedian('node start-up (root verified → first line)', nodeOnly),
      ...minMedian(
        'qemu cpu time to init root verified',
        runs.map((r) => r.initCpuMs),
      ),
      ...minMedian(
        'qemu cpu time to node first line',
        runs.map((r) => r.nodeCpuMs),
      ),
    ],
    ratios: [
      { label: 'node first line / bare boot to init (median)', value: median(node) / median(init) },
      {
        label: 'cpu to node first line / cpu to init (median)',
        value: median(runs.map((r) => r.nodeCpuMs)) / median(runs.map((r) => r.initCpuMs)),
      },
    ],
    notes: [
      `accelerator: ${runs[0]?.accel ?? '?'}; 1 vCPU, 256 MiB, erofs root on virtio-blk with dm-verity`,
    ],
  };
}

export const bootBenchmark: Benchmark = {
  name: 'boot',
  summary: 'guest boot under QEMU: bare boot to the init marker and to node first line',
  run,
};
