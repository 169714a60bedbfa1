/**
 * A private containerd 1.6 for tests: its own root, state, grpc and ttrpc sockets under a tmpdir, a
 * version-2 config, optionally the CRI plugin with the `kata-cc` runtime handler and a loopback CNI
 * network, and a PATH on which containerd finds `containerd-shim-kata-cc-v2`.
 */
import { reapShimsOf } from './reap-shims.js';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './source-files.js';
import { privateContainerdConfig, writeShimWrapper } from '#src/host/demo/containerd-config.js';

export interface StartContainerdOptions {
  /** A folder prepended to containerd's PATH; default: a tmp folder with a wrapper for dist/containerd-shim-kata-cc-v2.mjs. */
  readonly shimDir?: string;
  /** Enable the CRI plugin (runtime handler `kata-cc`, loopback CNI, local sandbox image). */
  readonly cri?: boolean;
  /** Extra environment for containerd (and so for the shims it starts). */
  readonly env?: Record<string, string>;
  /** The sandbox (pause) image reference for CRI; it is built and imported locally. */
  readonly sandboxImage?: string;
  /** containerd log level; default `debug`. */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  /** stdout as bytes (for binary answers like the shim's DeleteResponse). */
  readonly stdoutBytes: Uint8Array;
  readonly stderr: string;
}

export interface CtrOptions {
  /** containerd namespace; default `default`. */
  readonly namespace?: string;
  /** Bytes written to ctr's stdin (then closed). */
  readonly input?: string | Uint8Array;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface Containerd {
  /** The grpc socket path. */
  readonly address: string;
  readonly ttrpcAddress: string;
  readonly root: string;
  readonly state: string;
  /** The tmpdir holding config, sockets, root and state. */
  readonly dir: string;
  readonly configPath: string;
  readonly logPath: string;
  /** The folder on containerd's PATH that holds the shim wrapper. */
  readonly shimDir: string;
  /** The CNI config folder when `cri` is on. */
  readonly cniConfDir: string | undefined;
  /**
   * With `cri`: the pod bridge's own address (the pods' default gateway, e.g. `10.7.9.1`). A
   * service on the host listening on it (or on 0.0.0.0) is reachable from every pod and guest.
   */
  readonly podGateway: string | undefined;
  /** With `cri`: the pod subnet, e.g. `10.7.9.0/24`. */
  readonly podSubnet: string | undefined;
  readonly pid: number;
  ctr(args: readonly string[], opts?: CtrOptions): Promise<CommandResult>;
  /** containerd's own log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export const SHIM_BINARY_NAME = 'containerd-shim-kata-cc-v2';
export const DEFAULT_SANDBOX_IMAGE = 'localhost/pause:3.9';

/** Runs a program with an argv array and collects its output; never throws for a non-zero exit. */
export function run(
  argv: readonly string[],
  opts: {
    input?: string | Uint8Array;
    timeoutMs?: number;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    signal?: AbortSignal;
  } = {},
): Promise<CommandResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new Error('run: empty argv'));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      signal: opts.signal,
      timeout: opts.timeoutMs ?? 120_000,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, sig) => {
      resolve({
        code: code ?? (sig ? 128 + 9 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stdoutBytes: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** A tmp folder holding an executable `containerd-shim-kata-cc-v2` that runs the built bundle. */
export function makeShimDir(parent: string): string {
  const dir = join(parent, 'bin');
  writeShimWrapper(dir, join(PROJECT_ROOT, 'dist', `${SHIM_BINARY_NAME}.mjs`));
  return dir;
}

/**
 * Makes the pod bridge with its gateway address now (CNI would only make it with the first pod),
 * so host services can listen on the gateway before any pod exists.
 */
async function createBridge(
  bridge: string,
  net: { subnet: string; gateway: string },
): Promise<void> {
  const prefix = net.subnet.split('/')[1] ?? '24';
  for (const argv of [
    ['ip', 'link', 'add', bridge, 'type', 'bridge'],
    ['ip', 'addr', 'add', `${net.gateway}/${prefix}`, 'dev', bridge],
    ['ip', 'link', 'set', bridge, 'up'],
  ]) {
    const r = await run(argv, { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  }
}

/** A random 10.x.y.0/24 for one containerd's pods; the bridge (gateway) is 10.x.y.1. */
function podNetwork(): { subnet: string; gateway: string } {
  const a = 1 + Math.floor(Math.random() * 250);
  const b = Math.floor(Math.random() * 250);
  return { subnet: `10.${a}.${b}.0/24`, gateway: `10.${a}.${b}.1` };
}

/**
 * A bridge network of its own per containerd (CRI needs an interface with an address in the pod
 * netns): bridge `kcc<4 hex>` holding the gateway address (isGateway: pods get a default route
 * through it, so host services on that address are reachable), no masquerading (no iptables).
 */
function bridgeConflist(dir: string, bridge: string, subnet: string): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: `kata-cc-test-${bridge}`,
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          isDefaultGateway: true,
          ipMasq: false,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet }]],
            dataDir: join(dir, 'cni-ipam'),
          },
        },
        { type: 'loopback' },
      ],
    },
    null,
    2,
  );
}

async function waitForSocket(
  path: string,
  pid: number,
  logPath: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(path)) {
      const r = await run(['ctr', '--address', path, 'version'], { timeoutMs: 10_000 });
      if (r.code === 0) return;
    }
    try {
      process.kill(pid, 0);
    } catch {
      throw new Error(`containerd exited before serving ${path}:\n${tail(logPath, 30)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`containerd did not serve ${path} within ${timeoutMs} ms:\n${tail(logPath, 30)}`);
}

function tail(path: string, n: number): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo). */
export function mountsUnder(dir: string): string[] {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  const points = text
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(dir + '/')))
    .map((p) => p.replace(/\\040/g, ' '));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmounts (lazily) everything below `dir`; tests must never rm -r through a live mount. */
export async function unmountAll(dir: string): Promise<void> {
  for (const p of mountsUnder(dir)) await run(['umount', '-l', p], { timeoutMs: 10_000 });
}

export async function startContainerd(options: StartContainerdOptions = {}): Promise<Containerd> {
  const dir = mkdtempSync(join(tmpdir(), 'kata-cc-containerd-'));
  const cri = options.cri ?? false;
  const shimDir = options.shimDir ?? makeShimDir(dir);
  const sandboxImage = options.sandboxImage ?? DEFAULT_SANDBOX_IMAGE;
  let cniConfDir: string | undefined;
  let bridge: string | undefined;
  const net = cri ? podNetwork() : undefined;
  if (cri && net !== undefined) {
    cniConfDir = join(dir, 'cni');
    mkdirSync(cniConfDir);
    bridge = `kcc${Math.floor(Math.random() * 0xffff)
      .toString(16)
      .padStart(4, '0')}`;
    writeFileSync(join(cniConfDir, '10-bridge.conflist'), bridgeConflist(dir, bridge, net.subnet));
    await createBridge(bridge, net);
  }
  const configPath = join(dir, 'config.toml');
  const criConfig =
    cniConfDir === undefined ? undefined : { sandboxImage, cniConfDir, restrictOomScoreAdj: true };
  const logLevel = options.logLevel ?? 'debug';
  writeFileSync(configPath, privateContainerdConfig({ dir, logLevel, cri: criConfig }));
  const address = join(dir, 'containerd.sock');
  const ttrpcAddress = `${address}.ttrpc`;
  const logPath = join(dir, 'containerd.log');
  const { openSync, closeSync } = await import('node:fs');
  const logFd = openSync(logPath, 'a');
  const child = spawn('containerd', ['--config', configPath], {
    stdio: ['ignore', logFd, logFd],
    env: {
      ...process.env,
      ...options.env,
      PATH: `${shimDir}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    },
    detached: true,
  });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error('containerd did not start');
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 10_000);
    await exited;
    clearTimeout(timer);
    const reaped = reapShimsOf(address);
    if (reaped.length > 0)
      console.warn(`containerd ${dir}: killed ${reaped.length} leftover shim/VM processes`);
    await unmountAll(dir);
    if (bridge !== undefined) await run(['ip', 'link', 'del', bridge], { timeoutMs: 10_000 });
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  const ctr = (args: readonly string[], opts: CtrOptions = {}): Promise<CommandResult> =>
    run(['ctr', '--address', address, '--namespace', opts.namespace ?? 'default', ...args], {
      ...(opts.input === undefined ? {} : { input: opts.input }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      timeoutMs: opts.timeoutMs ?? 120_000,
    });
  try {
    await waitForSocket(address, pid, logPath, 30_000);
    const base: Containerd = {
      address,
      ttrpcAddress,
      root: join(dir, 'root'),
      state: join(dir, 'state'),
      dir,
      configPath,
      logPath,
      shimDir,
      cniConfDir,
      podGateway: net?.gateway,
      podSubnet: net?.subnet,
      pid,
      ctr,
      log: () => tail(logPath, 10_000),
      stop,
    };
    if (cri) {
      const { importImage, buildPauseImage } = await import('./test-images.js');
      await importImage(base, await buildPauseImage(), {
        baseName: sandboxImage.replace(/:[^:/]+$/, ''),
        namespace: 'k8s.io',
      });
    }
    return base;
  } catch (err) {
    await stop();
    throw err;
  }
}
