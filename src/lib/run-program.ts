import { spawn } from 'node:child_process';
import { abortError } from './async.js';
import { ByteRing } from './bytes.js';
import { LibError } from './errors.js';
import { isSystemError } from './errors.js';

export interface RunProgramOptions {
  readonly cwd?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** The child's whole environment (default: inherit). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Bytes written to stdin, then closed (default: stdin is empty). */
  readonly input?: string | Uint8Array | undefined;
  /** Largest stdout accepted, bytes (default 16 MiB; more kills the program and rejects); stderr keeps its last 8 KiB. */
  readonly maxStdout?: number | undefined;
  /** Exit codes besides 0 that resolve instead of rejecting. */
  readonly acceptExitCodes?: readonly number[] | undefined;
  /** Debian package to name when the program is missing. */
  readonly debianPackage?: string | undefined;
}

export interface ProgramResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/**
 * Runs a program with an argv array (never a shell) and collects its output. A missing program is
 * failed_precondition naming the package to install; a non-zero exit is an error naming the
 * command and the tail of its stderr; an aborted signal kills it and rejects with cancelled.
 */
export function runProgram(
  argv: readonly string[],
  options: RunProgramOptions = {},
): Promise<ProgramResult> {
  const [cmd, ...args] = argv;
  const maxStdout = options.maxStdout ?? 16 << 20;
  return new Promise((resolve, reject) => {
    if (cmd === undefined) {
      reject(new LibError('invalid_argument', 'ERR_PROGRAM_ARGV', 'runProgram: empty argv'));
      return;
    }
    if (options.signal?.aborted) {
      reject(abortError(options.signal, cmd));
      return;
    }
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: options.signal,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    let outLen = 0;
    const err = new ByteRing(8192);
    child.stdout.on('data', (c: Buffer) => {
      outLen += c.length;
      if (outLen <= maxStdout) out.push(c);
      else child.kill('SIGKILL');
    });
    child.stderr.on('data', (c: Buffer) => {
      err.push(c);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    child.once('error', (e) => {
      if (options.signal?.aborted) reject(abortError(options.signal, cmd));
      else if (isSystemError(e, 'ENOENT')) {
        const pkg =
          options.debianPackage === undefined
            ? ''
            : `: apt-get install -y ${options.debianPackage}`;
        reject(
          new LibError('failed_precondition', 'ERR_PROGRAM_NOT_FOUND', `${cmd} not found${pkg}`, {
            cause: e,
          }),
        );
      } else
        reject(
          new LibError('internal', 'ERR_PROGRAM_FAILED', `cannot run ${cmd}: ${e.message}`, {
            cause: e,
          }),
        );
    });
    child.once('close', (code, sig) => {
      if (options.signal?.aborted) {
        reject(abortError(options.signal, cmd));
        return;
      }
      if (outLen > maxStdout) {
        reject(
          new LibError(
            'resource_exhausted',
            'ERR_PROGRAM_OUTPUT',
            `${cmd} wrote more than ${maxStdout} bytes to stdout: stopped it`,
          ),
        );
        return;
      }
      const exitCode = code ?? 128 + (sig === 'SIGKILL' ? 9 : 15);
      const result = { stdout: Buffer.concat(out).toString('utf8'), stderr: err.text(), exitCode };
      if (exitCode === 0 || options.acceptExitCodes?.includes(exitCode) === true) resolve(result);
      else {
        const tail =
          err.lines(6).join(' | ') || result.stdout.trim().split('\n').slice(-3).join(' | ');
        reject(
          new LibError(
            'internal',
            'ERR_PROGRAM_FAILED',
            `${argv.slice(0, 4).join(' ')} exited with ${exitCode}: ${tail}`,
          ),
        );
      }
    });
  });
}
