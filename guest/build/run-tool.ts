import { CcError, runProgram, type ProgramResult } from '#src/lib/index.js';
import { GuestBuildError } from './errors.js';

/** Which Debian package provides each host tool the builder runs (for "what to do" messages). */
const PACKAGE_OF_TOOL: Readonly<Record<string, string>> = {
  'apt-get': 'apt',
  'apt-cache': 'apt',
  'dpkg-deb': 'dpkg',
  'dpkg-query': 'dpkg',
  depmod: 'kmod',
  modprobe: 'kmod',
  'mkfs.erofs': 'erofs-utils',
  veritysetup: 'cryptsetup-bin',
  busybox: 'busybox-static',
  ldd: 'libc-bin',
  node: 'nodejs',
};

export interface RunToolOptions {
  readonly cwd?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Extra environment on top of a minimal one (PATH, LC_ALL=C). */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Largest stdout accepted, bytes (default 16 MiB). */
  readonly maxStdout?: number | undefined;
  /** Exit codes besides 0 that resolve instead of rejecting. */
  readonly acceptExitCodes?: readonly number[] | undefined;
}

export type ToolResult = ProgramResult;

const TOOL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Runs a host tool with an argv array (never a shell) in a minimal environment, through
 * `runProgram`. Its failures (missing tool naming the Debian package, non-zero exit naming the
 * command and its stderr tail, too much output) become `ERR_GUEST_BUILD_TOOL` of the same kind.
 */
export async function runTool(
  cmd: string,
  args: readonly string[],
  options: RunToolOptions = {},
): Promise<ToolResult> {
  try {
    return await runProgram([cmd, ...args], {
      cwd: options.cwd,
      signal: options.signal,
      env: { PATH: TOOL_PATH, LC_ALL: 'C', ...options.env },
      maxStdout: options.maxStdout,
      acceptExitCodes: options.acceptExitCodes,
      debianPackage: PACKAGE_OF_TOOL[cmd],
    });
  } catch (err) {
    if (options.signal?.aborted === true || !(err instanceof CcError)) throw err;
    throw new GuestBuildError(err.kind, 'ERR_GUEST_BUILD_TOOL', err.message, { cause: err });
  }
}
