import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { describeError } from '#src/lib/index.js';
import { ShimError } from './errors.js';
import { requireFlags, serverArgv, type ShimFlags } from './shim-flags.js';
import {
  groupingId,
  readBundleAnnotations,
  socketAddress,
  socketPathOf,
} from './socket-address.js';

export interface StartOptions {
  /** `[node, script]`: how to run this program again as the server process. */
  readonly self: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How long the server may take to listen (default 10 s). */
  readonly readyTimeoutMs?: number;
  /** Folder of the shim socket (BootstrapParams.socket_dir), else SHIM_SOCKET_DIR. */
  readonly socketDir?: string | undefined;
}

/** Whether something accepts connections on the unix socket `path`. */
export function canConnect(path: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** Reads the server's readiness line from its fd 3 (`ok` or `error <message>`). */
function readReady(pipe: Readable, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => {
      resolve(`error shim server did not listen within ${timeoutMs} ms`);
    }, timeoutMs);
    pipe.on('data', (b: Buffer) => {
      text += b.toString('utf8');
    });
    pipe.once('close', () => {
      clearTimeout(timer);
      resolve(text.trim() === '' ? 'error shim server exited before listening' : text.trim());
    });
  });
}

/**
 * `shim start`: finds or forks the pod's shim server and returns the address to print. Containers
 * of one pod share the sandbox's shim (grouping by `io.kubernetes.cri.sandbox-id`).
 */
export async function runStart(flags: ShimFlags, o: StartOptions): Promise<string> {
  requireFlags(flags, 'namespace', 'id', 'address');
  const bundle = flags.bundle ?? o.cwd;
  const group = groupingId(readBundleAnnotations(bundle), flags.id);
  const address = socketAddress(flags.address, flags.namespace, group, o.socketDir);
  const path = socketPathOf(address);
  if (!(await canConnect(path))) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o711 });
    await forkServer(flags, path, { ...o, cwd: bundle });
  }
  writeFileSync(join(bundle, 'address'), address);
  return address;
}

async function forkServer(flags: ShimFlags, path: string, o: StartOptions): Promise<void> {
  const [node, ...script] = o.self;
  if (node === undefined)
    throw new ShimError('internal', 'ERR_SHIM_SPAWN', 'cannot find the shim program');
  const child = spawn(node, [...script, ...serverArgv(flags, path)], {
    cwd: o.cwd,
    env: { ...o.env },
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => {
      reject(
        new ShimError(
          'internal',
          'ERR_SHIM_SPAWN',
          `cannot start the shim server: ${describeError(err)}`,
          { cause: err },
        ),
      );
    });
  });
  await spawned;
  const ready = await readReady(child.stdio[3] as Readable, o.readyTimeoutMs ?? 10_000);
  child.unref();
  (child.stdio[3] as Readable).destroy();
  if (ready !== 'ok') {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw new ShimError('unavailable', 'ERR_SHIM_SOCKET', ready.replace(/^error\s*/, ''));
  }
}
