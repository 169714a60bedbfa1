import * as fsp from 'node:fs/promises';
import { isSystemError } from '#src/lib/index.js';
import { SysError, ioctl, type IoctlPointer } from '#native/index.js';
import { AttesterError } from './errors.js';

export interface DeviceIoctlOptions {
  /** Memory the argument's pointer fields refer to (in/out). */
  readonly buffers?: readonly Buffer[] | undefined;
  readonly pointers?: readonly IoctlPointer[] | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * The TEE guest device nodes (`/dev/sev-guest`, `/dev/tdx_guest`): open the node and run one
 * ioctl on it with `arg` as in/out memory. A failing ioctl rejects with the native `SysError`
 * (its `errnoCode`), after the kernel has written its status fields into `arg`. Injectable: tests
 * stand in a device model that answers like the kernel driver.
 */
export interface TeeDevice {
  ioctl(path: string, request: number, arg: Buffer, opts?: DeviceIoctlOptions): Promise<void>;
}

/** The real device nodes, through the native addon's generic ioctl. */
export const NATIVE_TEE_DEVICE: TeeDevice = {
  async ioctl(path, request, arg, opts = {}) {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(path, 'r+');
    } catch (err) {
      const code = isSystemError(err) ? err.code : '';
      throw new AttesterError(
        code === 'ENOENT' || code === 'ENXIO' || code === 'ENODEV' ? 'unavailable' : 'internal',
        'ERR_ATTESTER_IOCTL',
        `cannot open ${path}: ${code === '' ? String(err) : code}${code === 'EACCES' ? ' (the guest components must run as root)' : ''}`,
        { cause: err },
      );
    }
    try {
      await ioctl(handle.fd, request, arg, opts);
    } finally {
      await handle.close();
    }
  },
};

/** The errno name of a failed device ioctl, or undefined when it is not a syscall failure. */
export function errnoOf(err: unknown): string | undefined {
  return err instanceof SysError ? err.errnoCode : undefined;
}
