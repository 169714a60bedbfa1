/**
 * The only loader of the kata-cc native addon (native/build/Release/kata_cc_native.node). Callers
 * check isAvailable(); every function throws an `unavailable` NativeError when the addon is not built,
 * and a SysError (kind from errno) when the syscall fails.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useAddonLoader, type LoadedAddon, type NativeBinding } from './native-binding.js';

export { NativeError, SysError, type NativeErrorCode } from './native-error.js';
export { isAvailable, unavailableReason, type NativeBinding } from './native-binding.js';
export {
  VMADDR_CID_ANY,
  VMADDR_CID_HOST,
  shutdownFd,
  vsockAccept,
  vsockConnect,
  vsockListen,
  vsockSupported,
  type AcceptedVsock,
} from './vsock.js';
export {
  UNIX_PATH_MAX,
  recvFd,
  sendFd,
  unixAccept,
  unixListen,
  type ReceivedFds,
} from './fd-passing.js';
export { getWindowSize, openPty, setWindowSize, type OpenedPty, type WindowSize } from './pty.js';
export { XATTR_SIZE_MAX, lgetxattr, llistxattr, lsetxattr } from './xattr.js';
export { ioc, ioctl, ior, iow, iowr, type IoctlOptions, type IoctlPointer } from './ioctl.js';

const ADDON = 'kata_cc_native.node';

function candidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  // native/index.ts, dist/*.mjs and dist/guest/*.mjs each find native/build from where they sit
  return [
    join(here, 'build', 'Release', ADDON),
    join(here, '..', 'native', 'build', 'Release', ADDON),
    join(here, '..', '..', 'native', 'build', 'Release', ADDON),
    join(here, ADDON),
  ];
}

let loaded: LoadedAddon | undefined;

function load(): LoadedAddon {
  if (loaded) return loaded;
  const path = candidates().find((p) => existsSync(p));
  if (!path) {
    loaded = { reason: 'native addon not built (run `npm run build:native`)' };
    return loaded;
  }
  try {
    loaded = { binding: createRequire(import.meta.url)(path) as NativeBinding };
  } catch (err) {
    loaded = {
      reason: `native addon at ${path} failed to load: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  return loaded;
}

useAddonLoader(load);
