import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

export const BUSYBOX = '/bin/busybox';
export const CRUN = '/usr/bin/crun';
const APPLETS = [
  'sh',
  'echo',
  'cat',
  'sleep',
  'true',
  'false',
  'kill',
  'ls',
  'dd',
  'head',
  'tail',
  'stty',
  'tty',
  'env',
  'id',
  'ps',
  'yes',
  'wc',
  'tr',
  'seq',
  'mkdir',
  'rm',
];

/** Why crun tests cannot run here, or undefined when they can (root, crun, busybox-static). */
export function crunUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root';
  if (!existsSync(CRUN)) return `${CRUN} is missing (apt-get install crun)`;
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is missing (apt-get install busybox-static)`;
  return undefined;
}

/** Why erofs-on-loop tests cannot run here, or undefined when they can. */
export function erofsUnavailableReason(): string | undefined {
  const r = crunUnavailableReason();
  if (r) return r;
  if (spawnSync('mkfs.erofs', ['--help']).error)
    return 'mkfs.erofs is missing (apt-get install erofs-utils)';
  if (!existsSync('/dev/loop-control')) return 'no loop devices (/dev/loop-control)';
  if (!readFileSync('/proc/filesystems', 'utf8').includes('erofs'))
    return 'the kernel has no erofs';
  return undefined;
}

/** A minimal rootfs: static busybox with applet symlinks plus the usual mount points. */
export function makeBusyboxRootfs(dir: string): string {
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root'])
    mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const a of APPLETS) symlinkSync('busybox', join(dir, 'bin', a));
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\n');
  return dir;
}

/** A pause bundle like the guest image's: busybox rootfs and a config.json whose process sleeps. */
export function makePauseBundle(dir: string): string {
  makeBusyboxRootfs(join(dir, 'rootfs'));
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ process: { args: ['/bin/sleep', '2147483647'] } }),
  );
  return dir;
}

/**
 * The crun binary for tests. On a host with hybrid cgroups (cgroup v1 controllers plus a cgroup2
 * mount at /sys/fs/cgroup/unified that holds a controller) crun refuses to run; the wrapper runs
 * crun in a private mount namespace without that mount, so crun sees plain v1. The guest is pure
 * cgroup2 and uses /usr/bin/crun directly.
 */
export function crunForTests(dir: string): string {
  const unified = '/sys/fs/cgroup/unified/cgroup.controllers';
  if (!existsSync(unified) || readFileSync(unified, 'utf8').trim() === '') return CRUN;
  const wrapper = join(dir, 'crun-v1');
  writeFileSync(
    wrapper,
    `#!/bin/sh\nexec unshare -m --propagation private sh -c 'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec ${CRUN} "$@"' crun "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  return wrapper;
}

/** An erofs image of `rootfs` attached read-only to a loop device. */
export function attachErofs(rootfs: string, image: string): { device: string; detach(): void } {
  const mk = spawnSync('mkfs.erofs', ['--quiet', image, rootfs], { encoding: 'utf8' });
  if (mk.status !== 0) throw new Error(`mkfs.erofs failed: ${mk.stderr}`);
  const lo = spawnSync('losetup', ['--find', '--show', '--read-only', image], { encoding: 'utf8' });
  if (lo.status !== 0) throw new Error(`losetup failed: ${lo.stderr}`);
  const device = lo.stdout.trim();
  return {
    device,
    detach: () => {
      spawnSync('losetup', ['--detach', device]);
    },
  };
}
