import { checkFd, checkU16 } from './check-args.js';
import { binding } from './native-binding.js';
import { toSysError } from './native-error.js';

export interface OpenedPty {
  readonly master: number;
  readonly slave: number;
  /** The slave's path, like `/dev/pts/3`. */
  readonly name: string;
}

export interface WindowSize {
  readonly rows: number;
  readonly cols: number;
}

/** posix_openpt + grantpt + unlockpt + open(slave, O_NOCTTY); both fds close-on-exec. */
export function openPty(): OpenedPty {
  const b = binding('open pty');
  try {
    return b.openPty();
  } catch (err) {
    throw toSysError(err, 'open pty');
  }
}

/** ioctl(TIOCSWINSZ): sets a terminal's size (the foreground process group gets SIGWINCH). */
export function setWindowSize(fd: number, rows: number, cols: number): void {
  checkFd('fd', fd);
  checkU16('rows', rows);
  checkU16('cols', cols);
  const b = binding('set window size');
  try {
    b.setWindowSize(fd, rows, cols);
  } catch (err) {
    throw toSysError(err, `set window size of fd ${fd}`);
  }
}

/** ioctl(TIOCGWINSZ). */
export function getWindowSize(fd: number): WindowSize {
  checkFd('fd', fd);
  const b = binding('get window size');
  try {
    return b.getWindowSize(fd);
  } catch (err) {
    throw toSysError(err, `get window size of fd ${fd}`);
  }
}
