import { readdirSync, readFileSync } from 'node:fs';

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

function parentOf(pid: number): number | undefined {
  try {
    // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces or parentheses
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * Kills (SIGKILL) every shim a test containerd started — a shim names its containerd's socket
 * with `-address` — and every process below those shims (their QEMU). A shim outlives its
 * containerd by design, so a test that died mid-pod would otherwise leave VMs running for ever.
 * Returns the pids killed.
 */
export function reapShimsOf(containerdAddress: string): number[] {
  const pids = readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
  const roots = new Set(
    pids.filter((pid) => {
      const argv = cmdline(pid);
      const i = argv.indexOf('-address');
      return argv.some((a) => a.includes('containerd-shim')) && argv[i + 1] === containerdAddress;
    }),
  );
  const doomed = new Set(roots);
  for (let grew = true; grew;) {
    grew = false;
    for (const pid of pids) {
      const ppid = parentOf(pid);
      if (!doomed.has(pid) && ppid !== undefined && doomed.has(ppid)) {
        doomed.add(pid);
        grew = true;
      }
    }
  }
  for (const pid of doomed) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  return [...doomed];
}
