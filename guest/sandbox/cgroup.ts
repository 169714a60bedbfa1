import { access, mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SandboxError } from './errors.js';
import type { ContainerStats, Resources } from './types.js';

export type CgroupMode = 'v2' | 'v1';

/** Detects cgroup2 (the guest) or the legacy per-controller layout (some hosts running tests). */
export async function detectCgroupMode(root: string): Promise<CgroupMode> {
  try {
    await access(join(root, 'cgroup.controllers'));
    return 'v2';
  } catch {
    return 'v1';
  }
}

/**
 * The per-container cgroup the agent owns: `<root>/<base>/<sandbox>/<container>`, with crun's
 * cgroup `…/ctr` below it. The memory limit is set here, not on crun's cgroup, so the OOM counter
 * and the usage survive crun deleting its cgroup when the init process exits (see README).
 */
export class ContainerCgroup {
  readonly mode: CgroupMode;
  readonly #root: string;
  /** Relative path of the agent-owned cgroup, e.g. `/kata-cc/sb1/c1`. */
  readonly path: string;
  /** Relative path crun uses (`linux.cgroupsPath`). */
  readonly crunPath: string;

  constructor(root: string, mode: CgroupMode, path: string) {
    this.#root = root;
    this.mode = mode;
    this.path = path;
    this.crunPath = `${path}/ctr`;
  }

  #dir(controller: string, child = false): string {
    const rel = child ? this.crunPath : this.path;
    return this.mode === 'v2' ? join(this.#root, rel) : join(this.#root, controller, rel);
  }

  async create(): Promise<void> {
    try {
      if (this.mode === 'v2') {
        const parts = this.path.split('/').filter((p) => p !== '');
        let dir = this.#root;
        for (const part of parts) {
          await writeFile(join(dir, 'cgroup.subtree_control'), '+memory +pids +cpu').catch(
            () => undefined,
          );
          dir = join(dir, part);
          await mkdir(dir, { recursive: true });
        }
        await writeFile(join(dir, 'cgroup.subtree_control'), '+memory +pids +cpu').catch(
          () => undefined,
        );
      } else {
        await mkdir(this.#dir('memory'), { recursive: true });
      }
    } catch (err) {
      throw new SandboxError(
        'internal',
        'ERR_SANDBOX_CGROUP',
        `cannot create cgroup ${this.path}: ${String(err)}`,
        { cause: err },
      );
    }
  }

  /** Applies the memory part of `r` to the agent-owned cgroup. */
  async applyMemory(r: Resources | undefined): Promise<void> {
    const limit = r?.memory?.limit;
    if (limit === undefined) return;
    const value = limit <= 0 ? (this.mode === 'v2' ? 'max' : '-1') : String(limit);
    const file = this.mode === 'v2' ? 'memory.max' : 'memory.limit_in_bytes';
    try {
      await writeFile(join(this.#dir('memory'), file), value);
    } catch (err) {
      throw new SandboxError(
        'invalid_argument',
        'ERR_SANDBOX_CGROUP',
        `cannot set memory limit ${value} on ${this.path}: ${String(err)}`,
        { cause: err },
      );
    }
  }

  /**
   * The kernel's count of OOM kills in this container so far. The kernel counts a kill in the
   * victim's cgroup: cgroup2 propagates it to our cgroup (and it survives crun's); v1 does not, so
   * there it is read from crun's cgroup while that exists.
   */
  async oomKills(): Promise<number> {
    const file =
      this.mode === 'v2'
        ? join(this.#dir('memory'), 'memory.events')
        : join(this.#dir('memory', true), 'memory.oom_control');
    const text = await readFile(file, 'utf8').catch(() => '');
    return parseFlatKeyed(text)['oom_kill'] ?? 0;
  }

  async stats(): Promise<ContainerStats> {
    return this.mode === 'v2' ? this.#statsV2() : this.#statsV1();
  }

  async #statsV2(): Promise<ContainerStats> {
    const dir = this.#dir('');
    const mem = parseFlatKeyed(await readText(join(dir, 'memory.stat')));
    const cpu = parseFlatKeyed(await readText(join(dir, 'cpu.stat')));
    const events = parseFlatKeyed(await readText(join(dir, 'memory.events')));
    return {
      memory: {
        usage: await readNumber(join(dir, 'memory.current')),
        maxUsage: await readNumber(join(dir, 'memory.peak')),
        limit: await readNumber(join(dir, 'memory.max')),
        failcnt: events['max'] ?? 0,
        stat: mem,
      },
      cpu: {
        totalUsageNs: (cpu['usage_usec'] ?? 0) * 1000,
        userNs: (cpu['user_usec'] ?? 0) * 1000,
        kernelNs: (cpu['system_usec'] ?? 0) * 1000,
        periods: cpu['nr_periods'] ?? 0,
        throttledPeriods: cpu['nr_throttled'] ?? 0,
        throttledTimeNs: (cpu['throttled_usec'] ?? 0) * 1000,
      },
      pids: {
        current: await readNumber(join(dir, 'pids.current')),
        limit: await readNumber(join(dir, 'pids.max')),
      },
    };
  }

  async #statsV1(): Promise<ContainerStats> {
    const mem = this.#dir('memory');
    const cpuacct = this.#dir('cpuacct', true);
    const ticks = parseFlatKeyed(await readText(join(cpuacct, 'cpuacct.stat')));
    const cpu = parseFlatKeyed(await readText(join(this.#dir('cpu', true), 'cpu.stat')));
    const pids = this.#dir('pids', true);
    const NS_PER_TICK = 10_000_000; // USER_HZ = 100
    return {
      memory: {
        usage: await readNumber(join(mem, 'memory.usage_in_bytes')),
        maxUsage: await readNumber(join(mem, 'memory.max_usage_in_bytes')),
        limit: await readNumber(join(mem, 'memory.limit_in_bytes')),
        failcnt: await readNumber(join(mem, 'memory.failcnt')),
        stat: parseFlatKeyed(await readText(join(mem, 'memory.stat'))),
      },
      cpu: {
        totalUsageNs: await readNumber(join(cpuacct, 'cpuacct.usage')),
        userNs: (ticks['user'] ?? 0) * NS_PER_TICK,
        kernelNs: (ticks['system'] ?? 0) * NS_PER_TICK,
        periods: cpu['nr_periods'] ?? 0,
        throttledPeriods: cpu['nr_throttled'] ?? 0,
        throttledTimeNs: cpu['throttled_time'] ?? 0,
      },
      pids: {
        current: await readNumber(join(pids, 'pids.current')),
        limit: await readNumber(join(pids, 'pids.max')),
      },
    };
  }

  /** Pids of every process in crun's cgroup. */
  async pids(): Promise<number[]> {
    const text = await readText(join(this.#dir('pids', true), 'cgroup.procs'));
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map(Number)
      .filter((n) => Number.isSafeInteger(n));
  }

  /** Removes the agent-owned cgroup and whatever crun left of its own path. */
  async remove(): Promise<void> {
    await removeCgroupPath(this.#root, this.mode, this.crunPath);
    await removeCgroupPath(this.#root, this.mode, this.path);
  }
}

/** rmdir of `rel` (cgroup2) or of `rel` under every v1 controller mount (best effort). */
export async function removeCgroupPath(root: string, mode: CgroupMode, rel: string): Promise<void> {
  const bases =
    mode === 'v2'
      ? [root]
      : (await readdir(root).catch(() => [] as string[])).map((c) => join(root, c));
  for (const base of bases) await rmdir(join(base, rel)).catch(() => undefined);
}

/** Parses `key value` lines (memory.stat, cpu.stat, memory.events…); values clamp to safe integers. */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === undefined || value === undefined) continue;
    const n = Number(value);
    if (Number.isFinite(n)) out[key] = clampCounter(n);
  }
  return out;
}

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

async function readNumber(path: string): Promise<number> {
  const n = Number((await readText(path)).trim());
  return Number.isFinite(n) ? clampCounter(n) : 0;
}

/** cgroup counters are u64 ("unlimited" is near 2^63); the wire carries safe integers only. */
export function clampCounter(n: number): number {
  return Math.min(Math.max(0, Math.trunc(n)), Number.MAX_SAFE_INTEGER);
}
