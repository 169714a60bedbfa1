import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The shim's binary name; containerd finds it on its PATH for `io.containerd.kata-cc.v2`. */
export const SHIM_BINARY = 'containerd-shim-kata-cc-v2';

export interface PrivateContainerdCri {
  /** The CRI sandbox (pause) image reference. */
  readonly sandboxImage: string;
  /** The folder holding the pods' CNI network configuration list. */
  readonly cniConfDir: string;
  /** Registries reached over plain HTTP (`host:port`), as mirrors with an `http://` endpoint. */
  readonly insecureRegistries?: readonly string[] | undefined;
  /** `restrict_oom_score_adj`: containers may not get a lower oom_score_adj than containerd. */
  readonly restrictOomScoreAdj?: boolean | undefined;
}

export interface PrivateContainerdConfigOptions {
  /** root, state and the grpc/ttrpc sockets (`containerd.sock`, `containerd.sock.ttrpc`) below it. */
  readonly dir: string;
  /** `[debug] level`; omitted: containerd's default. */
  readonly logLevel?: string | undefined;
  /** CRI with runc and the `kata-cc` runtime handler; omitted: the CRI plugin is disabled. */
  readonly cri?: PrivateContainerdCri | undefined;
}

/**
 * A version-2 config for a containerd 1.6 of its own (the demo's, the tests'): private root,
 * state and sockets; with `cri`, runtime handler `kata-cc` (`io.containerd.kata-cc.v2`, Kata
 * annotations passed through), runc as the default, CNI from `cniConfDir`.
 */
export function privateContainerdConfig(o: PrivateContainerdConfigOptions): string {
  const q = (s: string): string => JSON.stringify(s);
  const lines = [
    'version = 2',
    ...(o.cri === undefined ? ['disabled_plugins = ["io.containerd.grpc.v1.cri"]'] : []),
    `root = ${q(join(o.dir, 'root'))}`,
    `state = ${q(join(o.dir, 'state'))}`,
    '[grpc]',
    `  address = ${q(join(o.dir, 'containerd.sock'))}`,
    '[ttrpc]',
    `  address = ${q(join(o.dir, 'containerd.sock.ttrpc'))}`,
    ...(o.logLevel === undefined ? [] : ['[debug]', `  level = ${q(o.logLevel)}`]),
  ];
  const c = o.cri;
  if (c !== undefined) {
    const cri = '[plugins."io.containerd.grpc.v1.cri"';
    lines.push(
      `${cri}]`,
      `  sandbox_image = ${q(c.sandboxImage)}`,
      '  stream_server_address = "127.0.0.1"',
      '  stream_server_port = "0"',
      '  enable_selinux = false',
      '  disable_apparmor = true',
      ...(c.restrictOomScoreAdj === true ? ['  restrict_oom_score_adj = true'] : []),
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
      `  conf_dir = ${q(c.cniConfDir)}`,
      '  max_conf_num = 1',
    );
    for (const host of c.insecureRegistries ?? [])
      lines.push(`${cri}.registry.mirrors.${q(host)}]`, `  endpoint = [${q(`http://${host}`)}]`);
  }
  return lines.join('\n') + '\n';
}

/** Writes `<binDir>/containerd-shim-kata-cc-v2`, running `shimBundle` with this node; returns its path. */
export function writeShimWrapper(binDir: string, shimBundle: string): string {
  mkdirSync(binDir, { recursive: true });
  const wrapper = join(binDir, SHIM_BINARY);
  writeFileSync(
    wrapper,
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(shimBundle)} "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  return wrapper;
}
