import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NULL_LOGGER, type Logger } from '#src/lib/index.js';
import { HypervisorError } from './errors.js';
import { describeExit, SupervisedProcess } from './process-supervisor.js';
import type { Accel, AccelMode } from './vm-spec.js';

/** The kernel prints this when it has booted as far as it can without a root: proof the accelerator works. */
export const PROBE_MARKER = 'Unable to mount root fs';

export interface AccelProbeOptions {
  readonly qemuBinary: string;
  /** Kernel booted for the probe (the guest kernel itself). */
  readonly kernel: string;
  readonly mode: AccelMode;
  /** Folder for the cached result; without it the result is cached for this process only. */
  readonly cacheDir?: string | undefined;
  readonly devKvm?: string | undefined;
  /** Bound on the probe boot (default 20 s). */
  readonly timeoutMs?: number | undefined;
  readonly logger?: Logger | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface AccelDecision {
  readonly accel: Accel;
  /** Why: forced, no /dev/kvm, probe result (and whether it came from the cache). */
  readonly reason: string;
  readonly cached: boolean;
}

const memo = new Map<string, AccelDecision>();

async function qemuVersion(qemuBinary: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(qemuBinary, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'], signal });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    c.once('error', (err) => {
      reject(
        new HypervisorError(
          'not_found',
          'ERR_PROCESS_SPAWN',
          `cannot run ${qemuBinary} --version: ${err.message}; apt-get install -y qemu-system-x86`,
          { cause: err },
        ),
      );
    });
    c.once('close', () => {
      resolve(out.split('\n')[0]?.trim() ?? '');
    });
  });
}

/** One bounded boot of `kernel` under `-accel kvm -cpu host`: true when it reaches the no-root panic. */
export async function probeKvmBoot(o: AccelProbeOptions): Promise<{ ok: boolean; detail: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'kata-cc-probe-'));
  const consoleLog = join(dir, 'console.log');
  const args = [
    '-nodefaults',
    '-no-user-config',
    '-nographic',
    '-no-reboot',
    '-machine',
    'q35',
    '-accel',
    'kvm',
    '-cpu',
    'host',
    '-m',
    '128M',
    '-smp',
    '1',
    '-kernel',
    o.kernel,
    '-append',
    'console=ttyS0 panic=-1',
    '-chardev',
    `file,id=c0,path=${consoleLog.replaceAll(',', ',,')}`,
    '-serial',
    'chardev:c0',
  ];
  const proc = await SupervisedProcess.spawn(o.qemuBinary, args, { logger: o.logger });
  try {
    const timeout = new Promise<'timeout'>((resolve) =>
      setTimeout(resolve, o.timeoutMs ?? 20_000, 'timeout').unref(),
    );
    const r = await Promise.race([proc.exited, timeout]);
    const consoleText = existsSync(consoleLog) ? readFileSync(consoleLog, 'utf8') : '';
    if (r === 'timeout')
      return {
        ok: false,
        detail: `the kvm test boot made no progress in ${o.timeoutMs ?? 20_000} ms (kvm present but unusable, e.g. PVM)`,
      };
    if (consoleText.includes(PROBE_MARKER))
      return { ok: true, detail: 'the kvm test boot reached the kernel' };
    const why = proc.stderrTail(3).join(' | ');
    return {
      ok: false,
      detail: `the kvm test boot failed (${describeExit(r)}${why === '' ? '' : `: ${why}`})`,
    };
  } finally {
    await proc.close({ graceMs: 1000 });
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Decides kvm or tcg. `kvm`/`tcg` are taken as given; `auto` uses KVM only when a bounded test boot
 * of the guest kernel works (a /dev/kvm that exists can still hang guests), caching the answer per
 * kernel and QEMU version, and logs a warning when it falls back to TCG.
 */
export async function resolveAccel(o: AccelProbeOptions): Promise<AccelDecision> {
  if (o.mode !== 'auto')
    return { accel: o.mode, reason: `accel = ${o.mode} was configured`, cached: false };
  const log = (o.logger ?? NULL_LOGGER).child({ subsystem: 'accel-probe' });
  const devKvm = o.devKvm ?? '/dev/kvm';
  if (!existsSync(devKvm)) {
    log.warn('no kvm, using tcg', { dev_kvm: devKvm });
    return { accel: 'tcg', reason: `${devKvm} does not exist`, cached: false };
  }
  const kernelHash = createHash('sha256').update(readFileSync(o.kernel)).digest('hex');
  const version = await qemuVersion(o.qemuBinary, o.signal);
  const key = createHash('sha256')
    .update(`${kernelHash}\n${version}\n${devKvm}`)
    .digest('hex')
    .slice(0, 24);
  const file = o.cacheDir === undefined ? undefined : join(o.cacheDir, `accel-probe-${key}.json`);
  const hit = memo.get(key) ?? (file === undefined ? undefined : readCached(file));
  if (hit !== undefined) return { ...hit, cached: true };
  const probe = await probeKvmBoot(o);
  const decision: AccelDecision = probe.ok
    ? { accel: 'kvm', reason: probe.detail, cached: false }
    : { accel: 'tcg', reason: `${probe.detail}; using tcg`, cached: false };
  if (!probe.ok) log.warn('kvm unusable, falling back to tcg', { reason: probe.detail });
  memo.set(key, decision);
  if (file !== undefined && o.cacheDir !== undefined) {
    mkdirSync(o.cacheDir, { recursive: true });
    writeFileSync(
      `${file}.tmp-${process.pid}`,
      JSON.stringify({ ...decision, qemuVersion: version, kernelSha256: kernelHash }) + '\n',
    );
    renameSync(`${file}.tmp-${process.pid}`, file);
  }
  return decision;
}

function readCached(file: string): AccelDecision | undefined {
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { accel?: unknown; reason?: unknown };
    if ((raw.accel === 'kvm' || raw.accel === 'tcg') && typeof raw.reason === 'string')
      return { accel: raw.accel, reason: raw.reason, cached: true };
  } catch {
    // missing or corrupt: probe again
  }
  return undefined;
}

/** @internal for tests: forget the in-process cache. */
export function clearAccelMemo(): void {
  memo.clear();
}
