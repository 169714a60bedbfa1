import { existsSync, lstatSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { copyIntoStage } from './libraries.js';
import { runTool } from './run-tool.js';

/** The static busybox both the initramfs and the root filesystem use (Debian's busybox-static). */
export const HOST_BUSYBOX = '/usr/bin/busybox';

/**
 * A merged-/usr skeleton: bin, sbin, lib, lib64 are relative links into usr/, so copying host
 * libraries by their ldd paths (/lib/x86_64-linux-gnu/…) lands in usr/lib either way.
 */
export function makeSkeleton(stage: string, dirs: readonly string[]): void {
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', ...dirs])
    mkdirSync(join(stage, d), { recursive: true });
  for (const [link, target] of [
    ['bin', 'usr/bin'],
    ['sbin', 'usr/sbin'],
    ['lib', 'usr/lib'],
    ['lib64', 'usr/lib64'],
  ] as const) {
    if (!existsSync(join(stage, link))) symlinkSync(target, join(stage, link));
  }
}

/** Installs busybox as /usr/bin/busybox with a link for every applet not already present. */
export async function installBusybox(stage: string, signal?: AbortSignal): Promise<void> {
  copyIntoStage(stage, HOST_BUSYBOX, '/usr/bin/busybox');
  const list = await runTool(HOST_BUSYBOX, ['--list-full'], { signal });
  for (const rel of list.stdout.split('\n').map((l) => l.trim())) {
    if (rel === '' || rel.includes('..') || rel.startsWith('/')) continue;
    const path = join(stage, rel);
    mkdirSync(dirname(path), { recursive: true });
    if (exists(path)) continue;
    symlinkSync('/usr/bin/busybox', path);
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export function writeStageFile(
  stage: string,
  rel: string,
  text: string | Uint8Array,
  mode = 0o644,
): void {
  const path = join(stage, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, { mode });
}
