import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPlainObject } from '#src/lib/index.js';
import { ShimError } from './errors.js';

/** Where containerd's own shims put their sockets (containerd `defaults.DefaultStateDir` + `/s`). */
export const SHIM_SOCKET_DIR = '/run/containerd/s';

/** Annotations that group containers into one shim, in containerd's order. */
export const GROUP_ANNOTATIONS = ['io.containerd.runc.v2.group', 'io.kubernetes.cri.sandbox-id'];

/**
 * The socket address of the shim serving `groupId` for a containerd at `containerdAddress`,
 * as containerd's `shim.SocketAddress`: `unix:///run/containerd/s/<sha256(address/ns/id)>`.
 */
export function socketAddress(
  containerdAddress: string,
  namespace: string,
  groupId: string,
  socketDir = SHIM_SOCKET_DIR,
): string {
  const digest = createHash('sha256')
    .update(join(containerdAddress, namespace, groupId))
    .digest('hex');
  return `unix://${join(socketDir, digest)}`;
}

export function socketPathOf(address: string): string {
  return address.startsWith('unix://') ? address.slice('unix://'.length) : address;
}

/** The grouping id of a bundle: the sandbox id for CRI containers, else the container id. */
export function groupingId(annotations: Readonly<Record<string, string>>, id: string): string {
  for (const key of GROUP_ANNOTATIONS) {
    const v = annotations[key];
    if (v !== undefined && v !== '') return v;
  }
  return id;
}

/** The annotations of the OCI spec in `<bundle>/config.json`. */
export function readBundleAnnotations(bundle: string): Record<string, string> {
  const path = join(bundle, 'config.json');
  let spec: unknown;
  try {
    spec = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ShimError('invalid_argument', 'ERR_SHIM_BUNDLE', `cannot read oci spec ${path}`, {
      cause: err,
    });
  }
  if (!isPlainObject(spec)) {
    throw new ShimError('invalid_argument', 'ERR_SHIM_BUNDLE', `${path}: spec is not an object`);
  }
  const raw = spec['annotations'];
  const out: Record<string, string> = {};
  if (isPlainObject(raw)) {
    for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}
