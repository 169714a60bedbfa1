/**
 * Shared by the genpolicy conformance test and the Rego benchmark: the initdata policy of
 * ../shared/testdata/agent-policy/pod-one-container.yaml and a CreateContainerRequest it allows.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

/** ../shared/testdata/agent-policy beside the checkout (pass ctx.projectRoot from bundles). */
export function agentPolicyDir(projectRoot = PROJECT_ROOT): string {
  return join(projectRoot, '..', 'shared', 'testdata', 'agent-policy');
}

export const POD_FILE = join(agentPolicyDir(), 'pod-one-container.yaml');

export function hasAgentPolicyData(dir = agentPolicyDir()): boolean {
  return existsSync(join(dir, 'pod-one-container.yaml'));
}

/** policy.rego from the pod's initdata annotation (base64 of gzip of TOML). */
export function genpolicyText(dir = agentPolicyDir()): string {
  const pod = parseYaml(readFileSync(join(dir, 'pod-one-container.yaml'), 'utf8')) as {
    metadata: { annotations: Record<string, string> };
  };
  const b64 = pod.metadata.annotations['io.katacontainers.config.hypervisor.cc_init_data'] ?? '';
  const toml = gunzipSync(Buffer.from(b64, 'base64')).toString('utf8');
  const doc = parseToml(toml) as { data: Record<string, string> };
  return doc.data['policy.rego'] ?? '';
}

export interface PolicyCase {
  readonly description: string;
  readonly allowed: boolean;
  readonly kind: string;
  readonly request: Record<string, unknown>;
}

export function genpolicyCases(name: string, dir = agentPolicyDir()): PolicyCase[] {
  const file = join(dir, 'genpolicy-tests', name, 'testcases.json');
  return JSON.parse(readFileSync(file, 'utf8')) as PolicyCase[];
}

const PRIVILEGED_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

function mount(destination: string, source: string, type: string, options: string[]): object {
  return { destination, options, source, type_: type };
}

/**
 * The busybox container of pod-one-container.yaml as the agent would present it: the request shape
 * of genpolicy's env_vars test case with this pod's values (privileged, its command and env).
 */
export function allowedCreateContainerRequest(dir = agentPolicyDir()): Record<string, unknown> {
  const base = genpolicyCases('createcontainer/env_vars', dir)[0]?.request ?? {};
  const req = structuredClone(base) as Record<string, unknown> & { OCI: Record<string, any> };
  const bid = 'b'.repeat(64);
  const sf = `/run/kata-containers/shared/containers/${bid}-0123456789abcdef-`;
  const oci = req.OCI;
  oci['Annotations'] = {
    'io.katacontainers.pkg.oci.bundle_path': `/run/containerd/io.containerd.runtime.v2.task/k8s.io/${bid}`,
    'io.katacontainers.pkg.oci.container_type': 'pod_container',
    'io.kubernetes.cri.container-name': 'busybox',
    'io.kubernetes.cri.container-type': 'container',
    'io.kubernetes.cri.image-name': 'quay.io/prometheus/busybox:latest',
    'io.kubernetes.cri.sandbox-id': 'a'.repeat(64),
    'io.kubernetes.cri.sandbox-name': 'one-container',
    'io.kubernetes.cri.sandbox-namespace': 'default',
    'io.kubernetes.cri.sandbox-uid': '31df313a-931f-4979-a405-cc3f3ccb6a56',
  };
  oci['Root'] = { Path: `/run/kata-containers/${bid}/rootfs`, Readonly: false };
  const proc = oci['Process'] as Record<string, unknown>;
  proc['Args'] = ['/bin/sh', '-c', 'while true; do echo one-container; sleep 10; done'];
  proc['Env'] = [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'HOSTNAME=one-container',
    'POD_NAME=one-container',
    'POD_NAMESPACE=default',
    'POD_IP=10.0.0.5',
    'SERVICE_ACCOUNT=default',
    'PROXY_CONFIG={}\n',
    'ISTIO_META_POD_PORTS=[\n]',
    'ISTIO_META_APP_CONTAINERS=serviceaclient',
    'ISTIO_META_CLUSTER_ID=Kubernetes',
    'ISTIO_META_NODE_NAME=node-1',
  ];
  proc['User'] = { AdditionalGids: [0], GID: 0, UID: 0, Username: '' };
  const caps = PRIVILEGED_CAPS;
  proc['Capabilities'] = {
    Ambient: [],
    Bounding: caps,
    Effective: caps,
    Inheritable: [],
    Permitted: caps,
  };
  const linux = oci['Linux'] as Record<string, unknown>;
  linux['MaskedPaths'] = [];
  linux['ReadonlyPaths'] = [];
  linux['Sysctl'] = {
    'net.ipv4.ip_unprivileged_port_start': '0',
    'net.ipv4.ping_group_range': '0 2147483647',
  };
  linux['CgroupsPath'] = `kubepods-burstable-pod31df313a.slice:cri-containerd:${bid}`;
  oci['Mounts'] = [
    mount('/proc', 'proc', 'proc', ['nosuid', 'noexec', 'nodev']),
    mount('/dev', 'tmpfs', 'tmpfs', ['nosuid', 'strictatime', 'mode=755', 'size=65536k']),
    mount('/dev/pts', 'devpts', 'devpts', [
      'nosuid',
      'noexec',
      'newinstance',
      'ptmxmode=0666',
      'mode=0620',
      'gid=5',
    ]),
    mount('/dev/mqueue', 'mqueue', 'mqueue', ['nosuid', 'noexec', 'nodev']),
    mount('/sys', 'sysfs', 'sysfs', ['nosuid', 'noexec', 'nodev', 'rw']),
    mount('/sys/fs/cgroup', 'cgroup', 'cgroup', ['nosuid', 'noexec', 'nodev', 'relatime', 'rw']),
    mount('/etc/hosts', sf + 'hosts', 'bind', ['rbind', 'rprivate', 'rw']),
    mount('/dev/termination-log', sf + 'termination-log', 'bind', ['rbind', 'rprivate', 'rw']),
    mount('/etc/hostname', sf + 'hostname', 'bind', ['rbind', 'rprivate', 'rw']),
    mount('/etc/resolv.conf', sf + 'resolv.conf', 'bind', ['rbind', 'rprivate', 'rw']),
    mount('/dev/shm', '/run/kata-containers/sandbox/shm', 'bind', ['rbind']),
    mount('/var/run/secrets/kubernetes.io/serviceaccount', sf + 'serviceaccount', 'bind', [
      'rbind',
      'rprivate',
      'ro',
    ]),
  ];
  req['container_id'] = bid;
  req['exec_id'] = bid;
  req['storages'] = [];
  return req;
}
