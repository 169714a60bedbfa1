/**
 * The host configuration schema: every key, its type, default and meaning. One table drives
 * validation, defaults, `kata-cc env` and the README's key table.
 */
export type FieldSpec =
  | { readonly type: 'string'; readonly default: string }
  | { readonly type: 'int'; readonly default: number; readonly min: number; readonly max: number }
  | { readonly type: 'bool'; readonly default: boolean }
  | { readonly type: 'enum'; readonly default: string; readonly values: readonly string[] }
  | { readonly type: 'string[]'; readonly default: readonly string[] };

export type FieldDoc = FieldSpec & { readonly doc: string };

export const HOST_CONFIG_SCHEMA = {
  hypervisor: {
    qemu_binary: { type: 'string', default: '/usr/bin/qemu-system-x86_64', doc: 'QEMU binary' },
    accel: {
      type: 'enum',
      default: 'auto',
      values: ['auto', 'kvm', 'tcg'],
      doc: 'acceleration; auto probes KVM once with a bounded boot and falls back to TCG',
    },
    machine: { type: 'enum', default: 'q35', values: ['q35', 'microvm'], doc: 'QEMU machine type' },
    cpus: { type: 'int', default: 1, min: 1, max: 64, doc: 'vCPUs per pod VM' },
    memory_mib: { type: 'int', default: 256, min: 64, max: 262144, doc: 'memory per pod VM (MiB)' },
    kernel_params: {
      type: 'string[]',
      default: [],
      doc: 'extra guest kernel command-line parameters',
    },
    firmware: {
      type: 'string',
      default: '',
      doc: 'firmware for confidential guests (TDVF / AmdSev OVMF)',
    },
    enable_annotations: {
      type: 'string[]',
      default: ['cc_init_data'],
      doc: 'io.katacontainers.config.hypervisor.* annotations a pod may set (regexes on the suffix, as Kata)',
    },
    probe_timeout_ms: {
      type: 'int',
      default: 8000,
      min: 1000,
      max: 120000,
      doc: 'bound of the KVM probe boot',
    },
  },
  guest: {
    manifest: {
      type: 'string',
      default: '',
      doc: 'guest image manifest.json written by `kata-cc guest build` (empty: the build cache of this checkout)',
    },
  },
  agent: {
    dial_timeout_ms: {
      type: 'int',
      default: 60000,
      min: 100,
      max: 600000,
      doc: 'how long to wait for the agent',
    },
    request_timeout_ms: {
      type: 'int',
      default: 30000,
      min: 100,
      max: 600000,
      doc: 'default agent RPC deadline',
    },
  },
  runtime: {
    state_dir: {
      type: 'string',
      default: '/run/kata-cc',
      doc: 'per-sandbox state (sockets, console logs)',
    },
    tee: {
      type: 'enum',
      default: 'none',
      values: ['none', 'tdx', 'snp'],
      doc: 'TEE of the pod VMs',
    },
    confidential: {
      type: 'bool',
      default: false,
      doc: 'treat pods as confidential (no host-provided rootfs, image pulled in the guest)',
    },
    guest_pull: {
      type: 'bool',
      default: false,
      doc: 'pull container images in the guest for non-confidential pods too (confidential pods always do)',
    },
    guest_pull_disk_mib: {
      type: 'int',
      default: 10240,
      min: 64,
      max: 1048576,
      doc: 'size of the sparse scratch disk per pod that holds guest-pulled images (encrypted by the guest)',
    },
    image_pull_timeout_s: {
      type: 'int',
      default: 1200,
      min: 1,
      max: 86400,
      doc: 'bound of one guest image pull (agent.image_pull_timeout); CreateContainer waits this long plus agent.request_timeout_ms',
    },
    shared_volume_max_entries: {
      type: 'int',
      default: 1024,
      min: 1,
      max: 65536,
      doc: 'most entries (files, folders, symlinks) of one Secret/ConfigMap-style volume folder copied into the guest; a larger one fails CreateContainer',
    },
    shared_volume_max_bytes: {
      type: 'int',
      default: 16777216,
      min: 0,
      max: 1073741824,
      doc: 'most file bytes of one volume folder copied into the guest (a file is at most 4 MiB); a larger one fails CreateContainer',
    },
    shared_volume_max_depth: {
      type: 'int',
      default: 8,
      min: 1,
      max: 64,
      doc: 'deepest folder nesting of one volume folder copied into the guest; a deeper one fails CreateContainer',
    },
    log_level: {
      type: 'enum',
      default: 'info',
      values: ['error', 'warn', 'info', 'debug'],
      doc: 'shim log level',
    },
  },
} as const satisfies Readonly<Record<string, Readonly<Record<string, FieldDoc>>>>;

export type HostConfigSchema = typeof HOST_CONFIG_SCHEMA;
export type SectionName = keyof HostConfigSchema;
