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
  /** `agent.image_pull_timeout` default, seconds (upstream's default too). */
  imagePullTimeoutS: 1200,
  /** virtio-blk serial of the scratch disk holding guest-pulled images (host attaches it). */
  imageScratchSerial: 'kata-scratch',
  /** Mount point of the encrypted image storage (agent-private, outside storageRoot). */
  imageStoreDir: '/run/kata-cc/image-store',
  imageMapperName: 'kata-image-store',
  cryptsetupBinary: '/usr/sbin/cryptsetup',
  mkfsBinary: '/usr/sbin/mkfs.ext4',
  /** The confidential data hub's socket (guest-components process). */
  cdhSocket: '/run/confidential-containers/cdh.sock',
  cdhCallTimeoutMs: 120_000,
  /** How long a pull waits for the CDH socket (guest-components start after the agent). */
  cdhWaitMs: 60_000,
  /** initdata's cdh.toml as guest-components writes it. */
  cdhConfigPath: '/run/kata-cc/initdata/cdh.toml',
  /** Paths whose presence means the guest runs in a TEE (the sandbox is then confidential). */
  teeDevices: ['/dev/tdx_guest', '/dev/sev-guest', '/sys/kernel/config/tsm/report'],
} as const;

/** The version this agent reports (GetGuestDetails, grpc.Health Version). */
export const AGENT_VERSION = '0.1.0';
