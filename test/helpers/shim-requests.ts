/**
 * Agent requests of one pod's lifecycle as our shim sends them: the OCI spec containerd 1.6 writes
 * into the bundle, turned into agent messages by src/host/agent (toAgentSpec / toAgentProcess),
 * encoded and decoded as on the wire, so a policy sees exactly what the guest agent would.
 */
import { NULL_LOGGER } from '#src/lib/index.js';
import { toAgentProcess, toAgentSpec } from '#src/host/agent/index.js';
import { GUEST_CONTAINERS_DIR } from '#src/host/runtime/vm-sandbox.js';
import {
  CopyFileRequest,
  CreateContainerRequest,
  CreateSandboxRequest,
  ExecProcessRequest,
  ReadStreamRequest,
  SetPolicyRequest,
} from '#src/protocol/agent/index.js';

export const DEFAULT_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];
const MASKED = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
];
const READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface PodIdentity {
  readonly podName: string;
  readonly namespace: string;
  readonly sandboxId: string;
  readonly podUid: string;
}

export interface ContainerShape {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly uid: number;
  readonly gid: number;
  readonly cwd?: string;
  readonly caps?: readonly string[];
}

type Json = Record<string, unknown>;

function mounts(sandbox: boolean, pod: PodIdentity, id: string): Json[] {
  const m = (destination: string, type: string, source: string, options: string[]): Json => ({
    destination,
    type,
    source,
    options,
  });
  const base = [
    m('/proc', 'proc', 'proc', ['nosuid', 'noexec', 'nodev']),
    m('/dev', 'tmpfs', 'tmpfs', ['nosuid', 'strictatime', 'mode=755', 'size=65536k']),
    m('/dev/pts', 'devpts', 'devpts', [
      'nosuid',
      'noexec',
      'newinstance',
      'ptmxmode=0666',
      'mode=0620',
      'gid=5',
    ]),
    m('/dev/mqueue', 'mqueue', 'mqueue', ['nosuid', 'noexec', 'nodev']),
    m('/sys', 'sysfs', 'sysfs', ['nosuid', 'noexec', 'nodev', 'ro']),
  ];
  // host bind mounts (dropped by the shim: they mean nothing inside the VM)
  const binds = [
    m('/etc/resolv.conf', 'bind', `/var/lib/containerd/sandboxes/${pod.sandboxId}/resolv.conf`, [
      'rbind',
      'ro',
    ]),
    m('/dev/shm', 'bind', `/run/containerd/sandboxes/${pod.sandboxId}/shm`, ['rbind', 'ro']),
  ];
  if (sandbox) return [...base, ...binds];
  return [
    ...base,
    m('/sys/fs/cgroup', 'cgroup', 'cgroup', ['nosuid', 'noexec', 'nodev', 'relatime', 'ro']),
    ...binds,
    m('/etc/hosts', 'bind', `/var/lib/kubelet/pods/${pod.podUid}/etc-hosts`, [
      'rbind',
      'rprivate',
      'rw',
    ]),
    m('/dev/termination-log', 'bind', `/var/lib/kubelet/pods/${pod.podUid}/containers/${id}`, [
      'rbind',
      'rprivate',
      'rw',
    ]),
  ];
}

/** The OCI spec containerd 1.6 writes for the pause container or a workload container. */
export function containerdSpec(pod: PodIdentity, c: ContainerShape, sandbox: boolean): Json {
  const caps = c.caps ?? DEFAULT_CAPS;
  const annotations: Record<string, string> = {
    'io.kubernetes.cri.container-type': sandbox ? 'sandbox' : 'container',
    'io.kubernetes.cri.sandbox-id': pod.sandboxId,
    'io.kubernetes.cri.sandbox-name': pod.podName,
    'io.kubernetes.cri.sandbox-namespace': pod.namespace,
    'io.kubernetes.cri.sandbox-uid': pod.podUid,
  };
  if (sandbox)
    annotations['io.kubernetes.cri.sandbox-log-directory'] =
      `/var/log/pods/${pod.namespace}_${pod.podName}_${pod.podUid}`;
  else {
    annotations['io.kubernetes.cri.container-name'] = c.name;
    annotations['io.kubernetes.cri.image-name'] = c.image;
  }
  const ns = (type: string, path = ''): Json => ({ type, path });
  return {
    ociVersion: '1.0.2-dev',
    process: {
      user: { uid: c.uid, gid: c.gid, additionalGids: [c.gid] },
      args: c.args,
      env: c.env,
      cwd: c.cwd ?? '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: sandbox,
      oomScoreAdj: sandbox ? -998 : 1000,
    },
    root: { path: 'rootfs', readonly: sandbox },
    hostname: sandbox ? pod.podName : undefined,
    mounts: mounts(sandbox, pod, c.id),
    annotations,
    linux: {
      resources: { cpu: { shares: 2 }, memory: {} },
      cgroupsPath: `/kubepods/besteffort/pod${pod.podUid}/${c.id}`,
      namespaces: [
        ns('pid', sandbox ? '' : `/proc/4242/ns/pid`),
        ns('ipc', sandbox ? '' : `/proc/4242/ns/ipc`),
        ns('uts', sandbox ? '' : `/proc/4242/ns/uts`),
        ns('mount'),
        ns('network', `/var/run/netns/cni-${pod.podUid}`),
      ],
      maskedPaths: MASKED,
      readonlyPaths: READONLY,
    },
  };
}

/** Like AgentClient.createContainer: pause gets /dev/vdb, the others a hot-plugged disk. */
export function createContainerRequest(spec: Json, id: string, disk: string): Json {
  const rootPath = `${GUEST_CONTAINERS_DIR}/${id}/rootfs`;
  const msg = {
    container_id: id,
    exec_id: id,
    string_user: undefined,
    devices: [],
    storages: [
      {
        driver: 'blk',
        driver_options: [],
        source: disk,
        fstype: 'erofs',
        options: ['ro'],
        mount_point: rootPath,
        fs_group: undefined,
      },
    ],
    OCI: toAgentSpec(spec, { rootPath, logger: NULL_LOGGER }),
    sandbox_pidns: false,
    shared_mounts: [],
    stdin_port: 0,
    stdout_port: 0,
    stderr_port: 0,
  };
  return wire(CreateContainerRequest, msg);
}

export function createSandboxRequest(pod: PodIdentity): Json {
  return wire(CreateSandboxRequest, {
    hostname: pod.podName,
    dns: [],
    storages: [],
    sandbox_pidns: false,
    sandbox_id: pod.sandboxId,
    guest_hook_path: '',
    kernel_modules: [],
    guest_userns: false,
  });
}

/** An exec (kubectl exec, exec probe): containerd's exec process spec = the container's with new args. */
export function execProcessRequest(
  spec: Json,
  containerId: string,
  execId: string,
  args: readonly string[],
): Json {
  const process = { ...(spec['process'] as Json), args, noNewPrivileges: false };
  return wire(ExecProcessRequest, {
    container_id: containerId,
    exec_id: execId,
    string_user: undefined,
    process: toAgentProcess(process),
    stdin_port: 0,
    stdout_port: 0,
    stderr_port: 0,
  });
}

export function readStreamRequest(containerId: string): Json {
  return wire(ReadStreamRequest, { container_id: containerId, exec_id: '', len: 32768 });
}

export function copyFileRequest(path: string): Json {
  return wire(CopyFileRequest, {
    path,
    file_size: 4,
    file_mode: 0o100644,
    dir_mode: 0o40755,
    uid: 0,
    gid: 0,
    offset: 0,
    data: Buffer.from('evil'),
  });
}

export function setPolicyRequest(policy: string): Json {
  return wire(SetPolicyRequest, { policy });
}

interface Codec<T> {
  encode(m: T): { finish(): Uint8Array };
  decode(b: Uint8Array): T;
}

/** Encode + decode: the message exactly as the guest agent's handler receives it. */
function wire<T>(codec: Codec<T>, msg: T): Json {
  return codec.decode(codec.encode(msg).finish()) as Json;
}
