// `npm run bench -- boot`, part 2: the task API Create of a pod sandbox, driven through the real
// shim binary as containerd drives it (`start`, then ttrpc Create on the address it printed), timed
// to the moment the shim logs "agent ready" (grpc.Health answered) and to Create's answer.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '#src/lib/index.js';
import { CreateTaskRequest, ShutdownRequest } from '#src/protocol/shim/index.js';
import { GUEST_INIT_MARKERS } from '#guest/build/index.js';
import { connectTask, shimAction } from '#test/e2e/setup/shim-driver.js';
import { makeBusyboxBundle } from '#test/helpers/test-images.js';
import { waitForLine } from './wait-for-line.js';

export interface ShimCreateTimings {
  /** Create sent → the init printed "root verified" on the console. */
  readonly initMs: number;
  /** Create sent → the shim logged "agent ready" (by the shim's own clock, ms precision). */
  readonly agentReadyMs: number;
  /** Create sent → Create answered (CreateSandbox + the pause container done). */
  readonly createMs: number;
  /** QEMU's CPU time (user + system) when "agent ready" was seen. */
  readonly agentReadyCpuMs: number;
  /** Create sent → QMP answered ("vm started" in the shim log). */
  readonly vmStartedMs: number;
  /** From the agent's own ready line on the console: its code cache state and `start_ms` (guest clock, from node's start). */
  readonly agentCodeCache: string;
  readonly agentStartMs: number;
}

export interface ShimCreateOptions {
  readonly manifestPath: string;
  readonly memoryMib: number;
  readonly signal: AbortSignal;
  /** CPU time of a process in ms. */
  readonly cpuMs: (pid: number) => number;
}

/** Pid of the QEMU whose `-name` is `kata-cc-<id>`, if it runs. */
export function qemuPidByName(id: string): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if ((argv[0] ?? '').includes('qemu-system') && argv.includes(`kata-cc-${id}`))
        return Number(name);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** First file called `name` below `root` (depth ≤ 3), polled until it exists. */
async function findFile(root: string, name: string, signal: AbortSignal): Promise<string> {
  const walk = (dir: string, depth: number): string | undefined => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return undefined;
    }
    for (const e of entries) {
      if (e.isFile() && e.name === name) return join(dir, e.name);
      if (e.isDirectory() && depth < 3) {
        const hit = walk(join(dir, e.name), depth + 1);
        if (hit !== undefined) return hit;
      }
    }
    return undefined;
  };
  for (;;) {
    const hit = walk(root, 0);
    if (hit !== undefined) return hit;
    await sleep(10, signal);
  }
}

function shimConfig(manifestPath: string, memoryMib: number, stateDir: string): string {
  return [
    '[hypervisor]',
    'accel = "tcg"',
    `memory_mib = ${memoryMib}`,
    '[guest]',
    `manifest = ${JSON.stringify(manifestPath)}`,
    '[agent]',
    'dial_timeout_ms = 300000',
    '[runtime]',
    `state_dir = ${JSON.stringify(stateDir)}`,
    'log_level = "info"',
    '',
  ].join('\n');
}

/** One pod sandbox Create through the shim binary; the shim and its VM are gone on return. */
export async function shimCreateOnce(
  o: ShimCreateOptions,
  seq: number,
): Promise<ShimCreateTimings> {
  const dir = mkdtempSync(join(tmpdir(), 'kata-bench-shim-'));
  const id = `bench-sb-${process.pid}-${seq}`;
  const stateDir = join(dir, 'state');
  const logDir = join(dir, 'logs');
  const configPath = join(dir, 'config.toml');
  writeFileSync(configPath, shimConfig(o.manifestPath, o.memoryMib, stateDir));
  const env = { KATA_CC_CONFIG: configPath, KATA_CC_SHIM_LOG_DIR: logDir };
  const args = { namespace: 'bench', address: join(dir, 'containerd.sock'), id };
  try {
    const bundle = await makeBusyboxBundle(join(dir, 'bundle'), ['/bin/sh'], {
      'io.kubernetes.cri.container-type': 'sandbox',
      'io.kubernetes.cri.sandbox-id': id,
    });
    const started = await shimAction('start', args, bundle, env);
    if (started.code !== 0) throw new Error(`shim start failed: ${started.stderr}`);
    const task = await connectTask(started.stdout.trim(), 'bench');
    try {
      return await timeCreate(
        o,
        { id, bundle, stateDir, shimLog: join(logDir, `${id}.log`) },
        task,
      );
    } finally {
      await task
        .call('Shutdown', ShutdownRequest.encode({ id, now: true }).finish(), 30_000)
        .catch(() => undefined);
      await task.close().catch(() => undefined);
      await waitGone(id, o.signal);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface CreateTarget {
  readonly id: string;
  readonly bundle: string;
  readonly stateDir: string;
  readonly shimLog: string;
}

type TaskCall = Awaited<ReturnType<typeof connectTask>>['call'];

async function timeCreate(
  o: ShimCreateOptions,
  t: CreateTarget,
  task: { call: TaskCall },
): Promise<ShimCreateTimings> {
  const watch = new AbortController();
  const signal = AbortSignal.any([o.signal, watch.signal, AbortSignal.timeout(600_000)]);
  const wall0 = Date.now();
  const t0 = performance.now();
  const create = task.call(
    'Create',
    CreateTaskRequest.encode(
      CreateTaskRequest.fromPartial({ id: t.id, bundle: t.bundle }),
    ).finish(),
    600_000,
  );
  const done = create.then(
    () => performance.now() - t0,
    (err: unknown) => {
      watch.abort();
      throw err;
    },
  );
  const logLine = (msg: string) => (l: string) => l.includes(`"msg":"${msg}"`);
  const what = `shim Create of ${t.id}`;
  const vmStarted = waitForLine(t.shimLog, logLine('vm started'), { signal, what });
  const consoleLog = findFile(t.stateDir, 'console.log', signal);
  const init = consoleLog.then((path) =>
    waitForLine(path, (l) => l.includes(GUEST_INIT_MARKERS.ready), { signal, what }),
  );
  const agentLine = consoleLog.then((path) =>
    waitForLine(path, logLine('agent ready'), { signal, what }),
  );
  const ready = waitForLine(t.shimLog, logLine('agent ready'), { signal, what }).then((seen) => {
    const pid = qemuPidByName(t.id);
    return { seen, cpu: pid === undefined ? NaN : o.cpuMs(pid) };
  });
  try {
    const [createMs, vm, initSeen, r, a] = await Promise.all([
      done,
      vmStarted,
      init,
      ready,
      agentLine,
    ]);
    const agent = agentReady(a.line);
    return {
      ...agent,
      vmStartedMs: vm.at - t0,
      initMs: initSeen.at - t0,
      agentReadyMs: logTime(r.seen.line) - wall0,
      createMs,
      agentReadyCpuMs: r.cpu,
    };
  } finally {
    watch.abort();
    await Promise.allSettled([create, vmStarted, init, ready, agentLine]);
  }
}

/** `code_cache` and `start_ms` of the agent's ready line (console text may precede the JSON). */
function agentReady(line: string): { agentCodeCache: string; agentStartMs: number } {
  const o = JSON.parse(line.slice(line.indexOf('{'))) as {
    code_cache?: unknown;
    start_ms?: unknown;
  };
  return {
    agentCodeCache: typeof o.code_cache === 'string' ? o.code_cache : 'none',
    agentStartMs: typeof o.start_ms === 'number' ? o.start_ms : NaN,
  };
}

/** The `time` field of a JSON log line, as epoch ms. */
function logTime(line: string): number {
  const raw = (JSON.parse(line) as { time?: unknown }).time;
  const t = typeof raw === 'string' ? Date.parse(raw) : NaN;
  if (Number.isNaN(t)) throw new Error(`log line without a time: ${line}`);
  return t;
}

/** Waits (bounded) until the pod's QEMU has exited; kills it if the shim left it behind. */
async function waitGone(id: string, signal: AbortSignal): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (qemuPidByName(id) === undefined) return;
    await sleep(50, signal);
  }
  const pid = qemuPidByName(id);
  if (pid !== undefined) process.kill(pid, 'SIGKILL');
}
