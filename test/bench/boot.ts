// `npm run bench -- boot`: how long the guest takes to boot under QEMU on this host, measured in one run:
// 1. bare boot of kernel + test image to our init's "root verified" marker and to the first line node
//    prints (the test payload standing in for the agent);
// 2. shim Create of a pod sandbox (the real shim binary, as containerd drives it) to "agent ready",
//    next to the bare boot to init of the same kernel + product image (boot-shim.ts);
// 3. CRI RunPodSandbox + CreateContainer + StartContainer to the container's first output line,
//    handler kata-cc next to runc (boot-cri.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST_INIT_MARKERS, readGuestManifest } from '#guest/build/index.js';
import {
  startVm,
  waitForConsoleMarker,
  type AccelMode,
  type VmSpec,
} from '#src/host/hypervisor/index.js';
import {
  ensureGuestImage,
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
import { shimCreateOnce, type ShimCreateTimings } from './boot-shim.js';
import { startCriBench, type CriHandler, type CriPodTimings } from './boot-cri.js';

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
  /** Stop at the init marker (the product image, whose agent prints no payload marker). */
  readonly initOnly?: boolean | undefined;
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
    // what the runtime boots for a guest without a TEE (bootKernel in src/host/hypervisor)
    kernel: manifest.kernelPvh ?? manifest.kernel,
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
      if (o.initOnly === true)
        return { qmpMs, initMs, nodeMs: NaN, initCpuMs, nodeCpuMs: NaN, accel: vm.accel };
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

const RUNS = 3;
const MEMORY_MIB = 256;

function ms(v: number): string {
  return `${v.toFixed(0)} ms`;
}

async function bareBoots(ctx: BenchContext): Promise<BenchResult> {
  ctx.progress('ensuring the test guest image');
  const manifest = await ensureTestGuestImage(ctx.projectRoot);
  const runs: BootTimings[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = await bootGuestOnce({ manifest, projectRoot: ctx.projectRoot, signal: ctx.signal });
    ctx.progress(
      `test image boot ${i + 1}: qmp ${ms(t.qmpMs)}, init ${ms(t.initMs)}, node ${ms(t.nodeMs)}, qemu cpu ${t.initCpuMs.toFixed(0)}/${t.nodeCpuMs.toFixed(0)} ms (${t.accel})`,
    );
    runs.push(t);
  }
  const init = runs.map((r) => r.initMs);
  const node = runs.map((r) => r.nodeMs);
  return {
    figures: [
      ...minMedian(
        'q35 spawn → QMP ready',
        runs.map((r) => r.qmpMs),
      ),
      ...minMedian('q35 spawn → init root verified (bare boot)', init),
      ...minMedian('q35 spawn → node first line', node),
      ...minMedian(
        'node start-up (root verified → first line)',
        runs.map((r) => r.nodeMs - r.initMs),
      ),
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
      `accelerator: ${runs[0]?.accel ?? '?'}; 1 vCPU, ${MEMORY_MIB} MiB, erofs root on virtio-blk with dm-verity`,
    ],
  };
}

/** Shim Create → agent ready, interleaved with bare boots of the same kernel + product image. */
async function shimCreates(ctx: BenchContext, manifestPath: string): Promise<BenchResult> {
  const manifest = readGuestManifest(manifestPath);
  const bare: BootTimings[] = [];
  const shim: ShimCreateTimings[] = [];
  for (let i = 0; i < RUNS; i++) {
    const b = await bootGuestOnce({
      manifest,
      initOnly: true,
      memoryMib: MEMORY_MIB,
      projectRoot: ctx.projectRoot,
      signal: ctx.signal,
    });
    ctx.progress(
      `product image bare boot ${i + 1}: init ${ms(b.initMs)}, qemu cpu ${b.initCpuMs.toFixed(0)} ms`,
    );
    bare.push(b);
    const s = await shimCreateOnce(
      { manifestPath, memoryMib: MEMORY_MIB, signal: ctx.signal, cpuMs: processCpuMs },
      i,
    );
    ctx.progress(
      `shim Create ${i + 1}: vm started ${ms(s.vmStartedMs)}, init ${ms(s.initMs)}, agent ready ${ms(s.agentReadyMs)} (qemu cpu ${s.agentReadyCpuMs.toFixed(0)} ms; agent start_ms ${s.agentStartMs}, code cache ${s.agentCodeCache}), Create answered ${ms(s.createMs)}`,
    );
    shim.push(s);
  }
  const bareInit = median(bare.map((b) => b.initMs));
  return {
    figures: [
      ...minMedian(
        'product image: spawn → init root verified (bare)',
        bare.map((b) => b.initMs),
      ),
      ...minMedian(
        'product image: qemu cpu to init root verified',
        bare.map((b) => b.initCpuMs),
      ),
      ...minMedian(
        'shim Create → QMP ready',
        shim.map((s) => s.vmStartedMs),
      ),
      ...minMedian(
        'shim Create → init root verified',
        shim.map((s) => s.initMs),
      ),
      ...minMedian(
        'shim Create → agent ready',
        shim.map((s) => s.agentReadyMs),
      ),
      ...minMedian(
        'shim Create: qemu cpu at agent ready',
        shim.map((s) => s.agentReadyCpuMs),
      ),
      ...minMedian(
        'shim Create → Create answered',
        shim.map((s) => s.createMs),
      ),
      ...minMedian(
        'agent start_ms at ready (guest clock, node start → ready)',
        shim.map((s) => s.agentStartMs),
      ),
    ],
    notes: [`agent code cache: ${shim.map((s) => s.agentCodeCache).join(', ')}`],
    ratios: [
      {
        label: 'Create→agent ready / bare boot to init (median)',
        value: median(shim.map((s) => s.agentReadyMs)) / bareInit,
      },
      {
        label: 'cpu at agent ready / cpu at bare init (median)',
        value: median(shim.map((s) => s.agentReadyCpuMs)) / median(bare.map((b) => b.initCpuMs)),
      },
    ],
  };
}

/** CRI pod start to first output line, kata-cc next to runc, through one containerd. */
async function criPodStarts(ctx: BenchContext, manifestPath: string): Promise<BenchResult> {
  ctx.progress('starting containerd with CRI (handlers kata-cc and runc)');
  const bench = await startCriBench({ manifestPath, memoryMib: MEMORY_MIB });
  const runs: CriPodTimings[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      for (const handler of ['runc', 'kata-cc'] as const) {
        const t = await bench.podStart(handler, i, ctx.signal);
        ctx.progress(
          `CRI ${handler} ${i + 1}: RunPodSandbox ${ms(t.runPodMs)}, StartContainer answered ${ms(t.startedMs)}, first line ${ms(t.firstLineMs)}`,
        );
        runs.push(t);
      }
    }
  } finally {
    await bench.close();
  }
  const of = (h: CriHandler): CriPodTimings[] => runs.filter((r) => r.handler === h);
  const figures: BenchFigure[] = [];
  for (const h of ['kata-cc', 'runc'] as const) {
    figures.push(
      ...minMedian(
        `CRI ${h}: RunPodSandbox answered`,
        of(h).map((r) => r.runPodMs),
      ),
      ...minMedian(
        `CRI ${h}: pod start → first output line`,
        of(h).map((r) => r.firstLineMs),
      ),
    );
  }
  const firstLine = (h: CriHandler): number => median(of(h).map((r) => r.firstLineMs));
  return {
    figures,
    ratios: [
      {
        label: 'CRI kata-cc / runc, pod start → first line',
        value: firstLine('kata-cc') / firstLine('runc'),
      },
    ],
  };
}

/** Runs one part; a failure becomes a note so the other parts still print. */
async function part(
  ctx: BenchContext,
  name: string,
  fn: () => Promise<BenchResult>,
): Promise<BenchResult> {
  try {
    return await fn();
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    const why = err instanceof Error ? err.message : String(err);
    ctx.progress(`${name} failed: ${why}`);
    return { figures: [], ratios: [], notes: [`${name} failed: ${why}`] };
  }
}

/** The 1/5/15-minute load averages, two decimals each. */
function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** Builds (or reuses) the product guest image and names its manifest. */
async function productManifestPath(ctx: BenchContext): Promise<string> {
  const product = await ensureGuestImage(ctx.projectRoot);
  return join(ctx.projectRoot, '.cache', 'guest', product.inputsHash, 'manifest.json');
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const atStart = loadAverage();
  ctx.progress(`load average at start: ${atStart}`);
  const parts: BenchResult[] = [await part(ctx, 'bare boots', () => bareBoots(ctx))];
  ctx.progress('ensuring the product guest image');
  const manifestPath = await productManifestPath(ctx);
  parts.push(await part(ctx, 'shim Create', () => shimCreates(ctx, manifestPath)));
  parts.push(await part(ctx, 'CRI pod start', () => criPodStarts(ctx, manifestPath)));
  return {
    figures: parts.flatMap((p) => p.figures),
    ratios: parts.flatMap((p) => p.ratios),
    notes: [
      ...parts.flatMap((p) => p.notes ?? []),
      `load average at start ${atStart}, at the end ${loadAverage()} (2 shared cores: compare QEMU CPU time when wall time is noisy)`,
    ],
  };
}

export const bootBenchmark: Benchmark = {
  name: 'boot',
  summary: 'guest boot under QEMU: bare boot, shim Create → agent ready, CRI pod start vs runc',
  run,
};

/** Part 2 of `boot` alone (`npm run bench -- boot-agent`): quicker A/B runs of guest start-up work. */
async function runAgentOnly(ctx: BenchContext): Promise<BenchResult> {
  const atStart = loadAverage();
  ctx.progress(`load average at start: ${atStart}`);
  const manifestPath = await productManifestPath(ctx);
  const r = await shimCreates(ctx, manifestPath);
  return { ...r, notes: [...(r.notes ?? []), `load average at start ${atStart}`] };
}

export const bootAgentBenchmark: Benchmark = {
  name: 'boot-agent',
  summary: 'shim Create → agent ready next to bare boots of the product image (part 2 of boot)',
  run: runAgentOnly,
};
