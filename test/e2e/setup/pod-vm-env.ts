import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { run, type CommandResult, type CtrOptions } from '#test/helpers/containerd.js';

/** What the e2e globalSetup shares with the test files. */
export interface PodVmEnv {
  readonly address: string;
  readonly ttrpcAddress: string;
  readonly state: string;
  readonly logPath: string;
  /** The kata-cc config the shims read (KATA_CC_CONFIG). */
  readonly configPath: string;
  /** runtime.state_dir of that config. */
  readonly stateDir: string;
  /** KATA_CC_SHIM_LOG_DIR: one log per shim (by grouping id). */
  readonly logDir: string;
  readonly manifest: string;
  /** Non-empty when the VM tests cannot run here (printed as the skip reason). */
  readonly problem: string;
  /**
   * The pods' default gateway = the CNI bridge's address on the host (e.g. `10.7.9.1`). A host
   * service listening there (or on 0.0.0.0) is reachable from CRI pods and their guests.
   */
  readonly podGateway: string;
  /** The CRI pod subnet, e.g. `10.7.9.0/24`. */
  readonly podSubnet: string;
}

/** Where guests reach host services (registry, KBS, …): the pod gateway address. */
export function podGatewayAddress(env: PodVmEnv): string {
  return env.podGateway;
}

declare module 'vitest' {
  export interface ProvidedContext {
    podVmEnv: PodVmEnv;
  }
}

export function podVmEnv(): PodVmEnv {
  return inject('podVmEnv');
}

export function ctr(
  env: PodVmEnv,
  args: readonly string[],
  opts: CtrOptions = {},
): Promise<CommandResult> {
  return run(
    ['ctr', '--address', env.address, '--namespace', opts.namespace ?? 'default', ...args],
    {
      ...(opts.input === undefined ? {} : { input: opts.input }),
      timeoutMs: opts.timeoutMs ?? 180_000,
    },
  );
}

/** Pids of QEMU processes whose command line names `marker` (a sandbox id). */
export function qemuPids(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmd.startsWith('qemu-system') || cmd.includes('/qemu-system')) {
      if (cmd.includes(marker)) out.push(Number(name));
    }
  }
  return out;
}

/** Mount points whose path contains `marker`. */
export function mountsContaining(marker: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.includes(marker));
}

/** The shim log of a pod (grouping id), for failure messages. */
export function shimLog(env: PodVmEnv, groupId: string, lines = 40): string {
  try {
    return readFileSync(join(env.logDir, `${groupId}.log`), 'utf8')
      .split('\n')
      .slice(-lines)
      .join('\n');
  } catch {
    return '(no shim log)';
  }
}
