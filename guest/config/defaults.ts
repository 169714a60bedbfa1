/** Every default of the guest agent (README.md lists each key). */
export const AGENT_DEFAULTS = {
  logLevel: 'info',
  channel: 'virtio-serial:agent.channel.0',
  virtioPortsDir: '/dev/virtio-ports',
  crunBinary: '/usr/bin/crun',
  mountBinary: '/bin/mount',
  umountBinary: '/bin/umount',
  runDir: '/run/kata-cc',
  storageRoot: '/run/kata-containers',
  pauseBundle: '/opt/kata-cc/pause-bundle',
  cgroupRoot: '/sys/fs/cgroup',
  cgroupBase: '/kata-cc',
  sysfs: '/sys',
  startTimeoutMs: 60_000,
  deviceTimeoutMs: 10_000,
  oomPollMs: 200,
  /** Paths whose presence means the guest runs in a TEE (the sandbox is then confidential). */
  teeDevices: ['/dev/tdx_guest', '/dev/sev-guest', '/sys/kernel/config/tsm/report'],
} as const;

/** The version this agent reports (GetGuestDetails, grpc.Health Version). */
export const AGENT_VERSION = '0.1.0';
