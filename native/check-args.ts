import { NativeError } from './native-error.js';

/** Throws ERR_NATIVE_ARGUMENT unless `v` is an exact u32. */
export function checkU32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new NativeError(
      'invalid_argument',
      'ERR_NATIVE_ARGUMENT',
      `${name} must be a u32, got ${v}`,
    );
  }
}

/** Throws ERR_NATIVE_ARGUMENT unless `fd` is 0..INT32_MAX. */
export function checkFd(name: string, fd: number): void {
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
    throw new NativeError(
      'invalid_argument',
      'ERR_NATIVE_ARGUMENT',
      `${name} must be a file descriptor, got ${fd}`,
    );
  }
}

/** Throws ERR_NATIVE_ARGUMENT unless `v` is 0..65535. */
export function checkU16(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
    throw new NativeError(
      'invalid_argument',
      'ERR_NATIVE_ARGUMENT',
      `${name} must be an integer in 0..65535, got ${v}`,
    );
  }
}
