import { spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { CcError, runProgram, sleep, type Env, type ProgramResult } from '#src/lib/index.js';

export const SHIM_BINARY = 'containerd-shim-kata-cc-v2';

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

function configText(o: PrivateContainerdOptions, cniDir: string): string {
  const q = (s: string): string => JSON.stringify(s);
  const cri = '[plugins."io.containerd.grpc.v1.cri"';
  const lines = [
    'version = 2',
    `root = ${q(join(o.dir, 'root'))}`,
    `state = ${q(join(o.dir, 'state'))}`,
    '[grpc]',
    `  address = ${q(join(o.dir, 'containerd.sock'))}`,
    '[ttrpc]',
    `  address = ${q(join(o.dir, 'containerd.sock.ttrpc'))}`,
    `${cri}]`,
    `  sandbox_image = ${q(o.sandboxImage)}`,
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  disable_apparmor = true',
    `${cri}.containerd]`,
    '  default_runtime_name = "runc"',
    '  snapshotter = "overlayfs"',
    `${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `${cri}.containerd.runtimes.kata-cc]`,
    '  runtime_type = "io.containerd.kata-cc.v2"',
    '  pod_annotations = ["io.katacontainers.*"]',
    '  container_annotations = ["io.katacontainers.*"]',
    `${cri}.cni]`,
    '  bin_dir = "/usr/lib/cni"',
    `  conf_dir = ${q(cniDir)}`,
    '  max_conf_num = 1',
  ];
  for (const host of o.insecureRegistries) {
    lines.push(`${cri}.registry.mirrors.${q(host)}]`, `  endpoint = [${q(`http://${host}`)}]`);
  }
  return lines.join('\n') + '\n';
}

/** containerd (Debian's 1.6) on private sockets, with CRI, runc and the kata-cc runtime handler. */
export async function startPrivateContainerd(
  o: PrivateContainerdOptions,
): Promise<PrivateContainerd> {
  const bin = join(o.dir, 'bin');
  const cniDir = join(o.dir, 'cni');
  mkdirSync(bin, { recursive: true });
  mkdirSync(cniDir, { recursive: true });
  const wrapper = join(bin, SHIM_BINARY);
  writeFileSync(
    wrapper,
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(o.shimBundle)} "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  // containerd's CRI needs an eth0 with an address in the pod's network namespace
  writeFileSync(join(cniDir, '10-kata-cc-demo.conflist'), o.cniConflist);
  const configPath = join(o.dir, 'containerd.toml');
  writeFileSync(configPath, configText(o, cniDir));
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
