import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CcError, runProgram, sleep, type Env, type ProgramResult } from '#src/lib/index.js';
import { privateContainerdConfig, writeShimWrapper } from './containerd-config.js';

export { SHIM_BINARY } from './containerd-config.js';

export interface PrivateContainerdOptions {
  /** Everything (config, root, state, sockets, logs) lives below this folder. */
  readonly dir: string;
  /** The shim bundle containerd runs for runtime `io.containerd.kata-cc.v2`. */
  readonly shimBundle: string;
  /** The CRI sandbox (pause) image reference. */
  readonly sandboxImage: string;
  /** Registries reached over plain HTTP (`127.0.0.1:PORT`). */
  readonly insecureRegistries: readonly string[];
  /** The CNI network configuration list (JSON text) for the pods. */
  readonly cniConflist: string;
  /** Environment for containerd and so for the shims it starts (KATA_CC_CONFIG …). */
  readonly env: Env;
  readonly signal?: AbortSignal | undefined;
}

export interface PrivateContainerd {
  readonly address: string;
  readonly logPath: string;
  readonly pid: number;
  ctr(args: readonly string[], namespace?: string): Promise<ProgramResult>;
  stop(): Promise<void>;
}

/** containerd (Debian's 1.6) on private sockets, with CRI, runc and the kata-cc runtime handler. */
export async function startPrivateContainerd(
  o: PrivateContainerdOptions,
): Promise<PrivateContainerd> {
  const bin = join(o.dir, 'bin');
  const cniDir = join(o.dir, 'cni');
  mkdirSync(cniDir, { recursive: true });
  writeShimWrapper(bin, o.shimBundle);
  // containerd's CRI needs an eth0 with an address in the pod's network namespace
  writeFileSync(join(cniDir, '10-kata-cc-demo.conflist'), o.cniConflist);
  const configPath = join(o.dir, 'containerd.toml');
  const cri = {
    sandboxImage: o.sandboxImage,
    cniConfDir: cniDir,
    insecureRegistries: o.insecureRegistries,
  };
  writeFileSync(configPath, privateContainerdConfig({ dir: o.dir, cri }));
  const address = join(o.dir, 'containerd.sock');
  const logPath = join(o.dir, 'containerd.log');
  const logFd = openSync(logPath, 'a');
  const child = spawn('containerd', ['--config', configPath], {
    stdio: ['ignore', logFd, logFd],
    env: { ...o.env, PATH: `${bin}:${o.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` },
  });
  closeSync(logFd);
  child.once('error', () => undefined);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  const ctr = (args: readonly string[], namespace = 'k8s.io'): Promise<ProgramResult> =>
    runProgram(['ctr', '--address', address, '--namespace', namespace, ...args], {
      signal: o.signal,
      debianPackage: 'containerd',
    });
  const deadline = Date.now() + 30_000;
  while (
    !existsSync(address) ||
    (await ctr(['version']).then(
      () => false,
      () => true,
    ))
  ) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const tail = existsSync(logPath)
        ? readFileSync(logPath, 'utf8').split('\n').slice(-10).join('\n')
        : '';
      throw new CcError(
        'unavailable',
        'ERR_DEMO_CONTAINERD',
        `containerd did not come up on ${address}:\n${tail}`,
      );
    }
    await sleep(150, o.signal);
  }
  return {
    address,
    logPath,
    pid: child.pid ?? -1,
    ctr,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
