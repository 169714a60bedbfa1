import { statSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { isPlainObject, runProgram } from '#src/lib/index.js';
import { NetworkError } from './errors.js';

/** Runs a command inside the pod netns and returns its stdout. */
export type NetnsCommand = (argv: readonly string[], signal?: AbortSignal) => Promise<string>;

/**
 * The network namespace path of an OCI spec (`linux.namespaces[type=network].path`), or
 * undefined when the spec names none (a plain `ctr run`: the VM then gets no NIC). containerd's
 * CRI makes it under /var/run/netns/cni-…; the path must be absolute, normalized and exist.
 */
export function networkNamespaceOf(ociSpec: Readonly<Record<string, unknown>>): string | undefined {
  const linux = ociSpec['linux'];
  if (!isPlainObject(linux) || !Array.isArray(linux['namespaces'])) return undefined;
  const list: unknown[] = linux['namespaces'];
  const ns = list.find((n) => isPlainObject(n) && n['type'] === 'network');
  if (!isPlainObject(ns)) return undefined;
  const path = ns['path'];
  if (path === undefined || path === '') return undefined;
  if (
    typeof path !== 'string' ||
    !isAbsolute(path) ||
    normalize(path) !== path ||
    path.includes('\0')
  )
    throw new NetworkError(
      'invalid_argument',
      'ERR_NET_NAMESPACE',
      `linux.namespaces: network namespace path ${JSON.stringify(path)} is not an absolute normalized path`,
    );
  try {
    statSync(path);
  } catch (err) {
    throw new NetworkError(
      'failed_precondition',
      'ERR_NET_NAMESPACE',
      `network namespace ${path} does not exist (was the pod network torn down?)`,
      { cause: err },
    );
  }
  return path;
}

/** `nsenter --net=<path> -- argv…` through the run-program helper. */
export function nsenterCommand(netnsPath: string): NetnsCommand {
  return async (argv, signal) => {
    const r = await runProgram(['nsenter', `--net=${netnsPath}`, '--', ...argv], {
      signal,
      debianPackage: argv[0] === 'tc' || argv[0] === 'ip' ? 'iproute2' : 'util-linux',
    });
    return r.stdout;
  };
}

/** The argv that starts `binary args…` inside a network namespace (QEMU opens its taps there). */
export function inNetns(netnsPath: string, binary: string, args: readonly string[]): string[] {
  return [`--net=${netnsPath}`, '--', binary, ...args];
}
