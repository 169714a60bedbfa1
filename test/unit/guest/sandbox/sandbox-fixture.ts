import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NULL_LOGGER } from '#src/lib/index.js';
import {
  CommandMounter,
  Sandbox,
  removeCgroupPath,
  type ContainerSpec,
  type ProcessSpec,
  type SandboxOptions,
} from '#guest/sandbox/index.js';
import {
  attachErofs,
  crunForTests,
  makeBusyboxRootfs,
  makePauseBundle,
} from '#test/helpers/busybox-rootfs.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

let counter = 0;

/** A sandbox over a private tmpdir, with a busybox erofs image on a loop device. */
export function makeFixture(overrides: Partial<SandboxOptions> = {}): {
  dir: string;
  device: string;
  storageRoot: string;
  options: SandboxOptions;
  sandbox: Sandbox;
  cleanup(): Promise<void>;
} {
  const t = tmpdir('kata-cc-sandbox-');
  const storageRoot = join(t.path, 'storage');
  mkdirSync(storageRoot);
  const rootfs = makeBusyboxRootfs(join(t.path, 'rootfs-src'));
  const erofs = attachErofs(rootfs, join(t.path, 'rootfs.erofs'));
  counter += 1;
  const options: SandboxOptions = {
    crunBinary: crunForTests(t.path),
    mounter: new CommandMounter(),
    runDir: join(t.path, 'run'),
    storageRoot,
    pauseBundle: makePauseBundle(join(t.path, 'pause')),
    cgroupRoot: '/sys/fs/cgroup',
    cgroupBase: `/kata-cc-test-${process.pid}-${counter}`,
    confidential: false,
    sysfs: '/sys',
    log: NULL_LOGGER,
    startTimeoutMs: 20_000,
    deviceTimeoutMs: 1000,
    oomPollMs: 50,
    ...overrides,
  };
  return {
    dir: t.path,
    device: erofs.device,
    storageRoot,
    options,
    sandbox: new Sandbox(options),
    cleanup: async () => {
      await removeCgroupPath('/sys/fs/cgroup', 'v1', options.cgroupBase);
      await removeCgroupPath('/sys/fs/cgroup', 'v2', options.cgroupBase);
      erofs.detach();
      t.remove();
    },
  };
}

export function processSpec(args: string[], extra: Partial<ProcessSpec> = {}): ProcessSpec {
  return {
    args,
    env: ['PATH=/bin', 'HOME=/root'],
    cwd: '/',
    terminal: false,
    user: { uid: 0, gid: 0, additionalGids: [] },
    rlimits: [],
    noNewPrivileges: true,
    ...extra,
  };
}

export function containerSpec(
  rootPath: string,
  args: string[],
  extra: Partial<ContainerSpec> = {},
): ContainerSpec {
  return {
    process: processSpec(args),
    hostname: 'pod',
    rootPath,
    rootReadonly: false,
    mounts: [
      { destination: '/proc', source: 'proc', type: 'proc', options: [] },
      { destination: '/dev', source: 'tmpfs', type: 'tmpfs', options: ['nosuid', 'mode=755'] },
      {
        destination: '/dev/pts',
        source: 'devpts',
        type: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
    ],
    annotations: {},
    linux: {
      namespaces: [
        { type: 'pid' },
        { type: 'mount' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'network' },
      ],
      uidMappings: [],
      gidMappings: [],
      maskedPaths: [],
      readonlyPaths: [],
      sysctl: {},
    },
    ...extra,
  };
}
