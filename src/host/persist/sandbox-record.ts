import {
  expectArray,
  expectInt,
  expectObject,
  expectString,
  isPlainObject,
} from '#src/lib/index.js';
import { PersistError } from './errors.js';

/** What survives the shim: enough to find and kill the VM and undo host-side changes. */
export interface ContainerRecord {
  readonly containerId: string;
  readonly bundle: string;
  /** Files the shim created for this container (rootfs image …), removed on delete. */
  readonly files: readonly string[];
  /** Host mount points the shim made (bundle rootfs), unmounted on delete. */
  readonly mounts: readonly string[];
}

export interface SandboxRecord {
  readonly version: 1;
  readonly sandboxId: string;
  readonly namespace: string;
  readonly shimPid: number;
  /** QEMU's pid, 0 before the VM started. */
  readonly vmPid: number;
  readonly vmStateDir: string;
  readonly socketPath: string;
  readonly containers: readonly ContainerRecord[];
}

function strings(raw: unknown, at: string): string[] {
  return expectArray(raw, at).map((v, i) => expectString(v, `${at}[${i}]`));
}

function parseContainer(raw: unknown, at: string): ContainerRecord {
  const o = expectObject(raw, at, ['containerId', 'bundle', 'files', 'mounts']);
  return {
    containerId: expectString(o['containerId'], `${at}.containerId`),
    bundle: expectString(o['bundle'], `${at}.bundle`),
    files: strings(o['files'] ?? [], `${at}.files`),
    mounts: strings(o['mounts'] ?? [], `${at}.mounts`),
  };
}

/** Validates a record read back from disk (it may be truncated or from another version). */
export function parseSandboxRecord(raw: unknown, at = 'state.json'): SandboxRecord {
  if (!isPlainObject(raw) || raw['version'] !== 1) {
    throw new PersistError(
      'invalid_argument',
      'ERR_PERSIST_INVALID',
      `${at}: not a version 1 record`,
    );
  }
  const o = expectObject(raw, at, [
    'version',
    'sandboxId',
    'namespace',
    'shimPid',
    'vmPid',
    'vmStateDir',
    'socketPath',
    'containers',
  ]);
  return {
    version: 1,
    sandboxId: expectString(o['sandboxId'], `${at}.sandboxId`),
    namespace: expectString(o['namespace'], `${at}.namespace`),
    shimPid: expectInt(o['shimPid'], `${at}.shimPid`, { min: 0 }),
    vmPid: expectInt(o['vmPid'], `${at}.vmPid`, { min: 0 }),
    vmStateDir: expectString(o['vmStateDir'], `${at}.vmStateDir`),
    socketPath: expectString(o['socketPath'], `${at}.socketPath`),
    containers: expectArray(o['containers'], `${at}.containers`).map((c, i) =>
      parseContainer(c, `${at}.containers[${i}]`),
    ),
  };
}
