import { checkFd, checkU32 } from './check-args.js';
import { binding } from './native-binding.js';
import { NativeError, toSysError } from './native-error.js';

/** Linux `_IOC(dir, type, nr, size)`: dir 0 none, 1 write, 2 read, 3 read/write. */
export function ioc(dir: 0 | 1 | 2 | 3, type: number, nr: number, size: number): number {
  if (!Number.isInteger(size) || size < 0 || size > 0x3fff)
    throw new NativeError(
      'invalid_argument',
      'ERR_NATIVE_ARGUMENT',
      `ioctl size ${size} is not 0..16383`,
    );
  return ((dir << 30) | (size << 16) | ((type & 0xff) << 8) | (nr & 0xff)) >>> 0;
}
/** `_IOWR(type, nr, size)`. */
export const iowr = (type: number, nr: number, size: number): number => ioc(3, type, nr, size);
/** `_IOR(type, nr, size)`. */
export const ior = (type: number, nr: number, size: number): number => ioc(2, type, nr, size);
/** `_IOW(type, nr, size)`. */
export const iow = (type: number, nr: number, size: number): number => ioc(1, type, nr, size);

/**
 * A u64 user-space address field inside one buffer of an ioctl call that must point at another
 * buffer of the same call (the addon fills it in just before the call and zeroes it after).
 */
export interface IoctlPointer {
  /** Index of the buffer that holds the field: 0 = the argument, 1.. = `buffers`. */
  readonly holder: number;
  /** Byte offset of the u64 field in the holder. */
  readonly offset: number;
  /** Index of the buffer the field points at. */
  readonly target: number;
  /** Byte offset of a length field in the holder that gets the target's byte length. */
  readonly lengthOffset?: number | undefined;
  /** Width of that length field (default 4). */
  readonly lengthSize?: 4 | 8 | undefined;
}

export interface IoctlOptions {
  /** Further memory the argument's pointer fields refer to (in/out like the argument). */
  readonly buffers?: readonly Buffer[] | undefined;
  readonly pointers?: readonly IoctlPointer[] | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * ioctl(2) in the thread pool with `arg` as in/out memory (the kernel writes results into it
 * in place, also when the call fails, so callers read status fields after an error). Resolves to
 * the ioctl's return value; a failure is a SysError whose `errnoCode` names the errno. The
 * request's encoded size (`_IOC_SIZE`) must fit in `arg`; legacy requests without one
 * (TIOCGWINSZ, SIOCGIFCONF) must pass an `arg` as large as the struct they name. Do not touch
 * the buffers until the promise settles; an abort leaves the call running to completion.
 */
export async function ioctl(
  fd: number,
  request: number,
  arg: Buffer,
  opts: IoctlOptions = {},
): Promise<number> {
  checkFd('fd', fd);
  checkU32('request', request);
  const buffers = [arg, ...(opts.buffers ?? [])];
  const pointers = (opts.pointers ?? []).map((p): [number, number, number, number, number] => {
    for (const [k, v] of [
      ['holder', p.holder],
      ['offset', p.offset],
      ['target', p.target],
    ] as const)
      checkU32(`pointer ${k}`, v);
    if (p.holder >= buffers.length || p.target >= buffers.length || p.holder === p.target)
      throw new NativeError(
        'invalid_argument',
        'ERR_NATIVE_ARGUMENT',
        `ioctl pointer ${p.holder} → ${p.target}: both must name distinct buffers of the call`,
      );
    return [p.holder, p.offset, p.target, p.lengthOffset ?? -1, p.lengthSize ?? 4];
  });
  opts.signal?.throwIfAborted();
  const b = binding('ioctl');
  const what = `ioctl 0x${request.toString(16)} on fd ${fd}`;
  let pending: Promise<number>;
  try {
    pending = b.ioctl(fd, request, buffers, pointers);
  } catch (err) {
    throw new NativeError('invalid_argument', 'ERR_NATIVE_ARGUMENT', `${what}: ${String(err)}`, {
      cause: err,
    });
  }
  try {
    return await pending;
  } catch (err) {
    throw toSysError(err, what);
  }
}
