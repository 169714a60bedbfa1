import type { OpenedPty, WindowSize } from './pty.js';
import type { ReceivedFds } from './fd-passing.js';
import { NativeError } from './native-error.js';
import type { AcceptedVsock } from './vsock.js';

/** The functions the C++ addon exports (native/src/*.cc). */
export interface NativeBinding {
  vsockSupported(): number;
  vsockListen(cid: number, port: number, backlog: number): number;
  vsockConnect(cid: number, port: number): Promise<number>;
  vsockAccept(fd: number): Promise<AcceptedVsock>;
  shutdownFd(fd: number): void;
  unixListen(path: string, backlog: number): number;
  unixAccept(fd: number): number;
  recvFd(fd: number): ReceivedFds | undefined;
  sendFd(path: string, fds: number[], data: Buffer): void;
  openPty(): OpenedPty;
  setWindowSize(fd: number, rows: number, cols: number): void;
  getWindowSize(fd: number): WindowSize;
  lsetxattr(path: string, name: string, value: Buffer): void;
  lgetxattr(path: string, name: string): Buffer;
  llistxattr(path: string): string[];
  ioctl(
    fd: number,
    request: number,
    buffers: Buffer[],
    pointers: [number, number, number, number, number][],
  ): Promise<number>;
}

/** What loading the addon gave: the binding, or why there is none. */
export interface LoadedAddon {
  readonly binding?: NativeBinding | undefined;
  readonly reason?: string | undefined;
}

let loader: (() => LoadedAddon) | undefined;

/** Installed once by native/index.ts, the only module that loads the addon. */
export function useAddonLoader(load: () => LoadedAddon): void {
  loader = load;
}

/** The loaded addon (the loader caches it). */
export function loadedAddon(): LoadedAddon {
  return loader
    ? loader()
    : { reason: 'native addon loader not installed (import #native/index.js)' };
}

/** True when the addon is built and loads. */
export function isAvailable(): boolean {
  return loadedAddon().binding !== undefined;
}

/** Why isAvailable() is false (empty when it is true). */
export function unavailableReason(): string {
  return loadedAddon().reason ?? '';
}

/** The binding, or an `unavailable` NativeError naming `what` and why. */
export function binding(what: string): NativeBinding {
  const l = loadedAddon();
  if (!l.binding)
    throw new NativeError(
      'unavailable',
      'ERR_NATIVE_UNAVAILABLE',
      `${what}: ${l.reason ?? 'native addon unavailable'}`,
    );
  return l.binding;
}
