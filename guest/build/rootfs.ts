import { cpSync, existsSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GUEST_AGENT_ENTRY, GUEST_NODE } from './init-script.js';
import { copyIntoStage, copyWithLibraries } from './libraries.js';
import { runTool } from './run-tool.js';
import { HOST_BUSYBOX, installBusybox, makeSkeleton, writeStageFile } from './stage-tree.js';

/** The native addon's file name beside the agent bundle (`/opt/kata-cc/` in the guest). */
export const GUEST_NATIVE_ADDON = 'kata_cc_native.node';

/** Where the pause bundle (the sandbox container's OCI bundle) lives in the guest. */
export const GUEST_PAUSE_BUNDLE = '/opt/kata-cc/pause-bundle';

/** cryptsetup and mke2fs for the guest's encrypted image storage (guest/image). */
export const IMAGE_STORE_TOOLS: readonly { host: string; guest: string }[] = [
  { host: '/usr/sbin/cryptsetup', guest: '/usr/sbin/cryptsetup' },
  { host: '/usr/sbin/mke2fs', guest: '/usr/sbin/mkfs.ext4' },
];

export interface RootfsOptions {
  readonly stage: string;
  /** The host node binary copied into the guest as /usr/bin/node. */
  readonly nodeBinary: string;
  /** Folder copied to /opt/kata-cc/ (holds kata-agent.mjs). */
  readonly agentDir: string;
  readonly signal?: AbortSignal | undefined;
}

/**
 * The pause process: busybox sh that sleeps until SIGTERM/SIGINT and then exits 0. Debian ships no
 * pause binary; a static busybox is a pause program with a proper signal exit as PID 1.
 */
export const PAUSE_ARGS: readonly string[] = [
  '/bin/sh',
  '-c',
  "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done",
];

function pauseConfig(): string {
  return JSON.stringify(
    {
      ociVersion: '1.0.2',
      process: {
        terminal: false,
        user: { uid: 65535, gid: 65535 },
        args: PAUSE_ARGS,
        env: ['PATH=/bin'],
        cwd: '/',
      },
      root: { path: 'rootfs', readonly: true },
      hostname: 'pause',
      mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
      linux: { namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }] },
    },
    null,
    2,
  );
}

const PASSWD =
  'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\n';
const HOSTS = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n';

/** Stages the guest root filesystem tree (see README.md "Root filesystem"). */
export async function stageRootfs(o: RootfsOptions): Promise<void> {
  makeSkeleton(o.stage, [
    'proc',
    'sys',
    'dev',
    'run',
    'tmp',
    'var',
    'etc',
    'root',
    'mnt',
    'opt/kata-cc',
  ]);
  await copyWithLibraries(
    o.stage,
    [
      { host: o.nodeBinary, guest: GUEST_NODE },
      { host: '/usr/bin/crun', guest: '/usr/bin/crun' },
      ...IMAGE_STORE_TOOLS,
    ],
    o.signal,
  );
  await installBusybox(o.stage, o.signal);
  cpSync(o.agentDir, join(o.stage, 'opt', 'kata-cc'), { recursive: true, dereference: true });
  statSync(join(o.stage, GUEST_AGENT_ENTRY));
  const pauseRoot = join(o.stage, GUEST_PAUSE_BUNDLE, 'rootfs');
  // mount points of the CRI sandbox spec must exist: the pause rootfs is read-only (erofs)
  makeSkeleton(pauseRoot, ['proc', 'dev', 'sys', 'etc', 'tmp', 'run', 'var']);
  for (const f of ['hostname', 'hosts', 'resolv.conf'])
    writeFileSync(join(pauseRoot, 'etc', f), '');
  copyIntoStage(pauseRoot, HOST_BUSYBOX, '/usr/bin/busybox');
  for (const applet of ['sh', 'sleep'])
    symlinkSync('busybox', join(pauseRoot, 'usr', 'bin', applet));
  writeStageFile(o.stage, `${GUEST_PAUSE_BUNDLE.slice(1)}/config.json`, pauseConfig());
  writeStageFile(o.stage, 'etc/passwd', PASSWD);
  writeStageFile(o.stage, 'etc/group', GROUP);
  writeStageFile(o.stage, 'etc/hosts', HOSTS);
  writeStageFile(o.stage, 'etc/hostname', 'kata-cc\n');
  if (existsSync('/etc/mke2fs.conf')) copyIntoStage(o.stage, '/etc/mke2fs.conf');
}

/** Makes the erofs image of the staged tree: owned by root, fixed timestamp and UUID (reproducible). */
export async function makeErofs(
  stage: string,
  out: string,
  uuid: string,
  signal?: AbortSignal,
): Promise<void> {
  await runTool('mkfs.erofs', ['--quiet', '--all-root', '-T0', `-U${uuid}`, out, stage], {
    signal,
  });
  const size = statSync(out).size;
  const aligned = Math.ceil(size / 4096) * 4096;
  if (aligned !== size) truncateSync(out, aligned);
}
