import { spawn, type ChildProcess } from 'node:child_process';
import { constants, createWriteStream, openSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { sleep, type Logger } from '#src/lib/index.js';
import { RuntimeError } from './errors.js';
import type { StdioSpec } from './types.js';

/** The host ends of a process's stdio: containerd's FIFOs, a log binary or a log file. */
export interface HostStdio {
  readonly stdin: Readable | undefined;
  readonly stdout: Writable | undefined;
  readonly stderr: Writable | undefined;
  /** Flushes and closes everything (idempotent); a log binary is waited for (bounded). */
  close(): Promise<void>;
}

export interface OpenHostStdioOptions {
  readonly containerId: string;
  readonly namespace: string;
  readonly logger: Logger;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Opens a FIFO without blocking: O_RDWR never waits for the other end (Linux), so a missing
 * reader cannot wedge the shim; stdin end-of-file comes from CloseIO.
 */
function openFifo(path: string, readable: boolean): Socket {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  } catch (err) {
    throw new RuntimeError(
      'invalid_argument',
      'ERR_RUNTIME_STDIO',
      `cannot open stdio fifo ${path}`,
      {
        cause: err,
      },
    );
  }
  return new Socket({ fd, readable, writable: !readable });
}

function endStream(s: Writable | undefined): Promise<void> {
  if (s === undefined || s.destroyed || s.writableFinished) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      resolve();
    };
    s.once('error', done);
    s.end(done);
  });
}

async function startLogBinary(uri: URL, o: OpenHostStdioOptions): Promise<ChildProcess> {
  const args: string[] = [];
  for (const [k, v] of uri.searchParams) args.push(k, ...(v === '' ? [] : [v]));
  const child = spawn(uri.pathname, args, {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    env: {
      CONTAINER_ID: o.containerId,
      CONTAINER_NAMESPACE: o.namespace,
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    },
  });
  child.on('error', (err) => {
    o.logger.warn('log binary failed', { err, binary: uri.pathname });
  });
  // the binary closes fd 5 once it is ready to read fds 3 and 4 (containerd's binary logger)
  const ready = (child.stdio as unknown[])[5] as Readable;
  await Promise.race([
    new Promise<void>((resolve) => {
      ready.once('close', resolve);
      ready.once('end', resolve);
      ready.resume();
    }),
    new Promise<void>((_, reject) => {
      child.once('exit', (code) => {
        reject(
          new RuntimeError(
            'invalid_argument',
            'ERR_RUNTIME_STDIO',
            `log binary ${uri.pathname} exited with ${code}`,
          ),
        );
      });
      child.once('error', (err) => {
        reject(
          new RuntimeError(
            'invalid_argument',
            'ERR_RUNTIME_STDIO',
            `cannot start log binary ${uri.pathname}`,
            { cause: err },
          ),
        );
      });
    }),
    sleep(10_000, o.signal),
  ]);
  return child;
}

function isRunning(c: ChildProcess): boolean {
  return c.exitCode === null && c.signalCode === null;
}

/** Opens the host stdio named by containerd (paths or `binary://` / `file://` URIs). */
export async function openHostStdio(stdio: StdioSpec, o: OpenHostStdioOptions): Promise<HostStdio> {
  const opened: (Readable | Writable)[] = [];
  let logChild: ChildProcess | undefined;
  let stdout: Writable | undefined;
  let stderr: Writable | undefined;
  try {
    const stdin = stdio.stdin === '' ? undefined : openFifo(stdio.stdin, true);
    if (stdin) opened.push(stdin);
    const out = stdio.stdout;
    if (out.startsWith('binary://')) {
      logChild = await startLogBinary(new URL(out), o);
      stdout = logChild.stdio[3] as Writable;
      stderr = logChild.stdio[4] as Writable;
    } else if (out.startsWith('file://')) {
      const file = createWriteStream(fileURLToPath(out), { flags: 'a', mode: 0o640 });
      stdout = file;
      stderr = file;
    } else {
      stdout = out === '' ? undefined : openFifo(out.replace(/^fifo:\/\//, ''), false);
      stderr =
        stdio.stderr === '' || stdio.terminal
          ? undefined
          : openFifo(stdio.stderr.replace(/^fifo:\/\//, ''), false);
    }
    for (const s of [stdout, stderr]) {
      if (s) {
        s.on('error', (err: unknown) => {
          o.logger.debug('stdio write failed', { err });
        });
        opened.push(s);
      }
    }
    let closed: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closed ??= (async () => {
        stdin?.destroy();
        await endStream(stdout);
        if (stderr !== stdout) await endStream(stderr);
        if (logChild && isRunning(logChild)) {
          const exited = new Promise<void>((r) =>
            logChild?.once('exit', () => {
              r();
            }),
          );
          await Promise.race([exited, sleep(5_000)]);
          if (isRunning(logChild)) logChild.kill('SIGKILL');
        }
      })();
      return closed;
    };
    return { stdin, stdout, stderr, close };
  } catch (err) {
    for (const s of opened) s.destroy();
    logChild?.kill('SIGKILL');
    throw err;
  }
}

/** Writes a chunk honouring backpressure; a broken reader drops output instead of failing. */
export async function writeChunk(s: Writable | undefined, chunk: Uint8Array): Promise<void> {
  if (s === undefined || s.destroyed || s.writableEnded) return;
  if (s.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      s.off('drain', done);
      s.off('close', done);
      s.off('error', done);
      resolve();
    };
    s.once('drain', done);
    s.once('close', done);
    s.once('error', done);
  });
}
