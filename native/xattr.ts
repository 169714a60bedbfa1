import { binding } from './native-binding.js';
import { NativeError, toSysError } from './native-error.js';

/** Largest xattr value Linux accepts (XATTR_SIZE_MAX). */
export const XATTR_SIZE_MAX = 65536;

function checkXattrArgs(path: string, name?: string): void {
  if (path === '' || path.includes('\0'))
    throw new NativeError(
      'invalid_argument',
      'ERR_NATIVE_ARGUMENT',
      'path must be non-empty without NUL',
    );
  if (name !== undefined && (name === '' || name.includes('\0') || Buffer.byteLength(name) > 255))
    throw new NativeError(
      'invalid_argument',
      'ERR_NATIVE_ARGUMENT',
      `xattr name must be 1..255 bytes without NUL, got ${JSON.stringify(name)}`,
    );
}

/** lsetxattr(2), flags 0: sets `name` on `path` itself (a final symlink is not followed). */
export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  checkXattrArgs(path, name);
  if (value.length > XATTR_SIZE_MAX)
    throw new NativeError(
      'invalid_argument',
      'ERR_NATIVE_ARGUMENT',
      `xattr ${name} on ${path}: value of ${value.length} bytes exceeds ${XATTR_SIZE_MAX}`,
    );
  const b = binding('set xattr');
  try {
    b.lsetxattr(path, name, Buffer.from(value.buffer, value.byteOffset, value.length));
  } catch (err) {
    throw toSysError(err, `set xattr ${name} on ${path}`);
  }
}

/** lgetxattr(2): the raw value of `name` on `path` itself (ENODATA → not_found). */
export function lgetxattr(path: string, name: string): Buffer {
  checkXattrArgs(path, name);
  const b = binding('get xattr');
  try {
    return b.lgetxattr(path, name);
  } catch (err) {
    throw toSysError(err, `get xattr ${name} of ${path}`);
  }
}

/** llistxattr(2): the attribute names on `path` itself. */
export function llistxattr(path: string): string[] {
  checkXattrArgs(path);
  const b = binding('list xattrs');
  try {
    return b.llistxattr(path);
  } catch (err) {
    throw toSysError(err, `list xattrs of ${path}`);
  }
}
