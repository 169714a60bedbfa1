import { spawn } from 'node:child_process';
import { abortError, ByteRing, isSystemError } from '#src/lib/index.js';
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
  /** Largest stdout kept, bytes (default 16 MiB). */
  readonly maxStdout?: number | undefined;
  /** Exit codes besides 0 that resolve instead of rejecting. */
  readonly acceptExitCodes?: readonly number[] | undefined;
}

export interface ToolResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

const TOOL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Runs a host tool with an argv array (never a shell) and returns its output. A missing tool is
 * failed_precondition naming the Debian package; a non-zero exit names the command and its stderr tail.
 */
export function runTool(
  cmd: string,
  args: readonly string[],
  options: RunToolOptions = {},
): Promise<ToolResult> {
  const maxStdout = options.maxStdout ?? 16 << 20;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(abortError(options.signal, cmd));
      return;
    }
    const child = spawn(cmd, [...args], {
      cwd: options.cwd,
      env: { PATH: TOOL_PATH, LC_ALL: 'C', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
    });
    const out: Buffer[] = [];
    let outLen = 0;
    const err = new ByteRing(8192);
    child.stdout.on('data', (c: Buffer) => {
      outLen += c.length;
      if (outLen <= maxStdout) out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      err.push(c);
    });
    child.on('error', (e) => {
      if (options.signal?.aborted) reject(abortError(options.signal, cmd));
      else if (isSystemError(e, 'ENOENT')) {
        const pkg = PACKAGE_OF_TOOL[cmd];
        reject(
          new GuestBuildError(
            'failed_precondition',
            'ERR_GUEST_BUILD_TOOL',
            `${cmd} not found on this host${pkg === undefined ? '' : `: apt-get install -y ${pkg}`}`,
            { cause: e },
          ),
        );
      } else
        reject(
          new GuestBuildError(
            'internal',
            'ERR_GUEST_BUILD_TOOL',
            `cannot run ${cmd}: ${e.message}`,
            { cause: e },
          ),
        );
    });
    child.on('close', (code, sig) => {
      if (options.signal?.aborted) return;
      const stderr = err.text();
      if (code !== null && (code === 0 || options.acceptExitCodes?.includes(code) === true)) {
        resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr, exitCode: code });
        return;
      }
      if (outLen > maxStdout) {
        reject(
          new GuestBuildError(
            'resource_exhausted',
            'ERR_GUEST_BUILD_TOOL',
            `${cmd} wrote more than ${maxStdout} bytes`,
          ),
        );
        return;
      }
      const how = sig === null ? `exit code ${String(code)}` : `signal ${sig}`;
      reject(
        new GuestBuildError(
          'internal',
          'ERR_GUEST_BUILD_TOOL',
          `${cmd} ${args.join(' ')} failed with ${how}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`,
        ),
      );
    });
  });
}
