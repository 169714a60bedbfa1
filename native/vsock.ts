import { checkU32 } from './check-args.js';
import { binding, loadedAddon } from './native-binding.js';
import { toSysError } from './native-error.js';

/** Any CID (bind), the host's CID. */
export const VMADDR_CID_ANY = 0xffffffff;
export const VMADDR_CID_HOST = 2;

export interface AcceptedVsock {
  readonly fd: number;
  readonly cid: number;
  readonly port: number;
}

/** True when the kernel has AF_VSOCK (false also when the addon is missing). */
export function vsockSupported(): boolean {
  const b = loadedAddon().binding;
  return b !== undefined && b.vsockSupported() === 0;
}

/** socket(AF_VSOCK) + bind(cid, port) + listen(backlog); returns the listening fd. */
export function vsockListen(port: number, opts: { cid?: number; backlog?: number } = {}): number {
  const cid = opts.cid ?? VMADDR_CID_ANY;
  const backlog = opts.backlog ?? 64;
  checkU32('cid', cid);
  checkU32('port', port);
  checkU32('backlog', backlog);
  const b = binding('vsock listen');
  try {
    return b.vsockListen(cid, port, backlog);
  } catch (err) {
    throw toSysError(err, `vsock listen on port ${port}`);
  }
}

/** socket(AF_VSOCK) + connect(cid, port) in the thread pool; returns the connected fd. */
export async function vsockConnect(cid: number, port: number): Promise<number> {
  checkU32('cid', cid);
  checkU32('port', port);
  const b = binding('vsock connect');
  try {
    return await b.vsockConnect(cid, port);
  } catch (err) {
    throw toSysError(err, `vsock connect to ${cid}:${port}`);
  }
}

/** accept4() on a listening vsock fd, in the thread pool. */
export async function vsockAccept(listenFd: number): Promise<AcceptedVsock> {
  checkU32('fd', listenFd);
  const b = binding('vsock accept');
  try {
    return await b.vsockAccept(listenFd);
  } catch (err) {
    throw toSysError(err, 'vsock accept');
  }
}

/** shutdown(SHUT_RDWR): wakes a thread blocked in accept() or read() on the fd. */
export function shutdownFd(fd: number): void {
  checkU32('fd', fd);
  try {
    binding('shutdown').shutdownFd(fd);
  } catch (err) {
    throw toSysError(err, `shutdown fd ${fd}`);
  }
}
