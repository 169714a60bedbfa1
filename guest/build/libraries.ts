import { copyFileSync, chmodSync, existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GuestBuildError } from './errors.js';
import { runTool } from './run-tool.js';

/**
 * Parses `ldd` output into absolute library paths (the dynamic loader included, the vDSO left out).
 * A "not found" line is an error: the binary could not run in the guest.
 */
export function parseLddOutput(text: string, binary: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('linux-vdso') || line.startsWith('linux-gate')) continue;
    if (line === 'statically linked' || line.includes('not a dynamic executable')) continue;
    if (/=>\s*not found/.test(line)) {
      throw new GuestBuildError(
        'failed_precondition',
        'ERR_GUEST_BUILD_INPUT',
        `${binary} needs a library this host lacks: ${line}`,
      );
    }
    const arrow = /=>\s*(\/\S+)\s+\(0x[0-9a-f]+\)$/.exec(line);
    const bare = /^(\/\S+)\s+\(0x[0-9a-f]+\)$/.exec(line);
    const path = arrow?.[1] ?? bare?.[1];
    if (path !== undefined && !out.includes(path)) out.push(path);
  }
  return out;
}

export async function sharedLibraries(binary: string, signal?: AbortSignal): Promise<string[]> {
  // ldd exits 1 for a static binary ("not a dynamic executable")
  const r = await runTool('ldd', [binary], { signal, acceptExitCodes: [1] });
  if (r.exitCode === 1) {
    if (/not a dynamic executable/.test(r.stdout + r.stderr)) return [];
    throw new GuestBuildError(
      'internal',
      'ERR_GUEST_BUILD_TOOL',
      `ldd ${binary} failed: ${r.stderr.trim()}`,
    );
  }
  return parseLddOutput(r.stdout, binary);
}

/** Copies host file `hostPath` (symlinks resolved) to the same path under `stageRoot`. */
export function copyIntoStage(stageRoot: string, hostPath: string, guestPath = hostPath): void {
  const src = realpathSync(hostPath);
  const dest = join(stageRoot, guestPath);
  mkdirSync(dirname(dest), { recursive: true });
  if (existsSync(dest)) return;
  copyFileSync(src, dest);
  chmodSync(dest, statSync(src).mode & 0o7777);
}

/** Copies each binary and every library it needs into the stage; returns the guest paths copied. */
export async function copyWithLibraries(
  stageRoot: string,
  binaries: readonly { host: string; guest: string }[],
  signal?: AbortSignal,
): Promise<string[]> {
  const copied: string[] = [];
  for (const b of binaries) {
    copyIntoStage(stageRoot, b.host, b.guest);
    copied.push(b.guest);
    for (const lib of await sharedLibraries(b.host, signal)) {
      copyIntoStage(stageRoot, lib);
      if (!copied.includes(lib)) copied.push(lib);
    }
  }
  return copied;
}
