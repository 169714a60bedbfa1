import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { HypervisorError } from './errors.js';
import type { VmSpec } from './vm-spec.js';

/** Longest unix socket path (sun_path is 108 bytes with the terminating NUL). */
export const MAX_SOCKET_PATH = 107;

function specError(message: string): HypervisorError {
  return new HypervisorError('invalid_argument', 'ERR_VM_SPEC', message);
}

function requireFile(path: string, what: string, hint: string): void {
  if (!isAbsolute(path)) throw specError(`${what} ${path}: expected an absolute path`);
  let ok: boolean;
  try {
    ok = statSync(path).isFile();
  } catch {
    ok = false;
  }
  if (!ok)
    throw new HypervisorError('not_found', 'ERR_VM_SPEC', `${what} ${path} not found: ${hint}`);
}

export function checkSocketPath(path: string, what: string): void {
  if (!isAbsolute(path)) throw specError(`${what} ${path}: expected an absolute path`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw specError(
      `${what} ${path} is ${Buffer.byteLength(path)} bytes, longer than a unix socket path can be (${MAX_SOCKET_PATH}); use a shorter state dir`,
    );
  }
}

/** Checks a spec before anything is spawned: sizes, ids, and that every file it names exists. */
export function validateVmSpec(spec: VmSpec): void {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(spec.id))
    throw specError(`vm id ${JSON.stringify(spec.id)}: expected 1-64 of [A-Za-z0-9_.-]`);
  if (!Number.isInteger(spec.cpus) || spec.cpus < 1 || spec.cpus > 64)
    throw specError(`cpus: expected 1..64, got ${spec.cpus}`);
  if (!Number.isInteger(spec.memoryMib) || spec.memoryMib < 64 || spec.memoryMib > 1 << 20) {
    throw specError(`memoryMib: expected 64..1048576, got ${spec.memoryMib}`);
  }
  const rebuild = 'build the guest image (kata-cc guest build) or fix the path';
  requireFile(spec.kernel, 'kernel', rebuild);
  if (spec.initrd !== undefined) requireFile(spec.initrd, 'initrd', rebuild);
  if (spec.rootDisk !== undefined) requireFile(spec.rootDisk.path, 'root disk', rebuild);
  const ids = new Set<string>();
  for (const d of spec.disks) {
    if (ids.has(d.id)) throw specError(`disk id ${d.id} is used twice`);
    ids.add(d.id);
    requireFile(d.path, `disk ${d.id}`, 'the runtime must create it before starting the vm');
  }
  if (spec.tee.kind !== 'none')
    requireFile(
      spec.tee.firmware,
      `${spec.tee.kind} firmware`,
      'install the TEE firmware (TDVF / AmdSev OVMF) and set its path',
    );
  if (spec.agentChannel.kind !== 'vsock')
    checkSocketPath(spec.agentChannel.socketPath, 'agent socket');
  if (!isAbsolute(spec.stateDir))
    throw specError(`stateDir ${spec.stateDir}: expected an absolute path`);
  if (!isAbsolute(spec.consoleLogPath))
    throw specError(`consoleLogPath ${spec.consoleLogPath}: expected an absolute path`);
}
