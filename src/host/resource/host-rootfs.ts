import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { runProgram } from '#src/lib/index.js';
import { ResourceError } from './errors.js';

/** Runs a host tool; its failure (exit status and stderr tail) as text, or undefined when it worked. */
async function failureOf(
  argv: readonly string[],
  signal?: AbortSignal,
): Promise<string | undefined> {
  try {
    await runProgram(argv, { signal });
    return undefined;
  } catch (err) {
    if (signal?.aborted === true) throw err;
    return err instanceof Error ? err.message : String(err);
  }
}

export interface RootfsMount {
  readonly type: string;
  readonly source: string;
  readonly options: readonly string[];
}

export interface RootfsImage {
  /** The erofs image file, attached read-only as a virtio-blk disk. */
  readonly path: string;
  readonly sizeBytes: number;
  readonly fsType: 'erofs';
}

/** Whether `path` is a mount point now (from /proc/self/mountinfo). */
export function isMountPoint(path: string): boolean {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  return text.split('\n').some((line) => line.split(' ')[4] === path);
}

/** Mounts containerd's rootfs mounts (usually one overlay) onto `target`, in order. */
export async function mountRootfs(
  mounts: readonly RootfsMount[],
  target: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const made: string[] = [];
  mkdirSync(target, { recursive: true });
  try {
    for (const m of mounts) {
      const opts = m.type === 'bind' ? [...m.options, 'bind'] : [...m.options];
      const argv = ['mount', ...(m.type === 'bind' ? [] : ['-t', m.type])];
      if (opts.length > 0) argv.push('-o', opts.join(','));
      argv.push(m.source, target);
      const failure = await failureOf(argv, signal);
      if (failure !== undefined) {
        throw new ResourceError(
          'invalid_argument',
          'ERR_RESOURCE_MOUNT',
          `cannot mount ${m.type} rootfs on ${target}: ${failure}`,
        );
      }
      made.push(target);
    }
    return made;
  } catch (err) {
    for (const p of made.reverse()) await unmount(p);
    throw err;
  }
}

/** Unmounts `path` until it is no longer a mount point (stacked mounts); absent is fine. */
export async function unmount(path: string, signal?: AbortSignal): Promise<void> {
  for (let i = 0; i < 8 && isMountPoint(path); i++) {
    const failure = await failureOf(['umount', path], signal);
    if (failure !== undefined && isMountPoint(path)) {
      const lazy = await failureOf(['umount', '-l', path], signal);
      if (lazy !== undefined) {
        throw new ResourceError(
          'internal',
          'ERR_RESOURCE_UNMOUNT',
          `cannot unmount ${path}: ${lazy}`,
        );
      }
    }
  }
}

export interface BuildRootfsImageOptions {
  /** A confidential pod must not take its rootfs from the host (DESIGN.md §1). */
  readonly confidential: boolean;
  readonly mkfsBinary?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Packs the host rootfs folder into an erofs image (until in-guest image pull exists). Refused for
 * confidential pods: their images are pulled and verified in the guest.
 */
export async function buildRootfsImage(
  srcDir: string,
  outPath: string,
  options: BuildRootfsImageOptions,
): Promise<RootfsImage> {
  if (options.confidential) {
    throw new ResourceError(
      'failed_precondition',
      'ERR_RESOURCE_CONFIDENTIAL',
      'a confidential pod cannot use a rootfs from the host: use guest image pull',
    );
  }
  try {
    if (!statSync(srcDir).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new ResourceError(
      'invalid_argument',
      'ERR_RESOURCE_IMAGE',
      `container rootfs ${srcDir} is not a directory`,
      {
        cause: err,
      },
    );
  }
  mkdirSync(dirname(outPath), { recursive: true });
  rmSync(outPath, { force: true });
  const failure = await failureOf(
    [options.mkfsBinary ?? 'mkfs.erofs', '-T0', '--quiet', outPath, srcDir],
    options.signal,
  );
  if (failure !== undefined) {
    rmSync(outPath, { force: true });
    throw new ResourceError(
      'internal',
      'ERR_RESOURCE_IMAGE',
      `mkfs.erofs failed for ${srcDir}: ${failure}`,
    );
  }
  return { path: outPath, sizeBytes: statSync(outPath).size, fsType: 'erofs' };
}
