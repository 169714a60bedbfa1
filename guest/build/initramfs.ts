import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cpioEntriesOfTree, encodeCpioNewc } from './cpio-newc.js';
import type { ExtractedKernel } from './kernel.js';
import { copyWithLibraries } from './libraries.js';
import { installBusybox, makeSkeleton, writeStageFile } from './stage-tree.js';

export interface InitramfsOptions {
  readonly stage: string;
  readonly kernel: ExtractedKernel;
  /** Module paths under lib/modules/<release>/, in load order. */
  readonly modules: readonly string[];
  readonly initScript: string;
  readonly out: string;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Stages and packs the initramfs: busybox, veritysetup with its libraries, the kernel modules and
 * our /init, as an uncompressed newc cpio with /dev/console so init has a console before devtmpfs.
 */
export async function buildInitramfs(o: InitramfsOptions): Promise<void> {
  makeSkeleton(o.stage, ['etc/kata-cc', 'proc', 'sys', 'dev', 'run', 'newroot']);
  await installBusybox(o.stage, o.signal);
  await copyWithLibraries(
    o.stage,
    [{ host: '/usr/sbin/veritysetup', guest: '/usr/sbin/veritysetup' }],
    o.signal,
  );
  const modRoot = join(o.kernel.root, 'lib', 'modules', o.kernel.release);
  for (const m of o.modules) {
    const dest = join(o.stage, 'usr', 'lib', 'modules', o.kernel.release, m);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(join(modRoot, m), dest);
  }
  writeStageFile(o.stage, 'etc/kata-cc/modules', o.modules.join('\n') + '\n');
  writeStageFile(o.stage, 'init', o.initScript, 0o755);
  const entries = cpioEntriesOfTree(o.stage).filter((e) => e.path !== 'dev');
  const cpio = encodeCpioNewc([
    { type: 'dir', path: 'dev', mode: 0o755 },
    { type: 'char', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
    { type: 'char', path: 'dev/null', mode: 0o666, major: 1, minor: 3 },
    ...entries,
  ]);
  // uncompressed: under TCG the kernel spends seconds inflating a gzip'd initramfs
  writeFileSync(o.out, cpio);
}
