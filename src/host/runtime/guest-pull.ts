import type { HostConfig } from '#src/host/config/index.js';
import type { GuestStorage } from '#src/host/agent/index.js';
import { RuntimeError } from './errors.js';
import type { BackendContainer } from './sandbox-backend.js';

/** The CRI annotation naming a container's image (what the guest pulls). */
export const IMAGE_NAME_ANNOTATION = 'io.kubernetes.cri.image-name';
/** Kata's storage driver for images pulled by the guest. */
export const GUEST_PULL_DRIVER = 'image_guest_pull';
/** Upstream's container base in the guest: a pulled rootfs is at `<base>/<cid>/rootfs`. */
export const GUEST_PULL_BASE = '/run/kata-containers';

export function guestPullRoot(containerId: string): string {
  return `${GUEST_PULL_BASE}/${containerId}/rootfs`;
}

/** Whether pods get a TEE or are treated as confidential (`runtime.tee`, `runtime.confidential`). */
export function isConfidentialConfig(config: HostConfig): boolean {
  return config.runtime.tee !== 'none' || config.runtime.confidential;
}

/** Whether this sandbox's images are pulled in the guest (always for a confidential pod). */
export function usesGuestPull(config: HostConfig, confidential: boolean): boolean {
  return confidential || config.runtime.guest_pull;
}

function annotationsOf(c: BackendContainer): Record<string, string> {
  const a = c.ociSpec['annotations'];
  const out: Record<string, string> = {};
  if (typeof a !== 'object' || a === null) return out;
  for (const [k, v] of Object.entries(a as Record<string, unknown>))
    if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * The `image_guest_pull` storage of a workload container (Kata's shape): source = the image named
 * by the CRI annotation, mount point `/run/kata-containers/<cid>/rootfs`, driver option
 * `image_guest_pull={"metadata": {<the container's CRI annotations>}}`. A container without an
 * image name cannot be pulled in the guest and is refused.
 */
export function guestPullStorage(c: BackendContainer): GuestStorage {
  const annotations = annotationsOf(c);
  const image = annotations[IMAGE_NAME_ANNOTATION];
  if (image === undefined || image.trim() === '')
    throw new RuntimeError(
      'failed_precondition',
      'ERR_RUNTIME_UNSUPPORTED',
      `container ${c.containerId}: its image is pulled in the guest, but the container has no ${IMAGE_NAME_ANNOTATION} annotation naming it (create it through CRI, or run a non-confidential pod without runtime.guest_pull)`,
    );
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations))
    if (k.startsWith('io.kubernetes.cri.')) metadata[k] = v;
  return {
    driver: GUEST_PULL_DRIVER,
    source: image,
    fsType: 'overlay',
    options: [],
    driverOptions: [`${GUEST_PULL_DRIVER}=${JSON.stringify({ metadata })}`],
    mountPoint: guestPullRoot(c.containerId),
  };
}

/** Kernel parameters the agent reads for guest pulls. */
export function guestPullKernelParams(config: HostConfig, confidential: boolean): string[] {
  const out = [`agent.image_pull_timeout=${String(config.runtime.image_pull_timeout_s)}`];
  if (confidential) out.push('agent.confidential=true');
  return out;
}

/**
 * Allowance for the guest's one-time setup of its encrypted image storage (luksFormat, mkfs),
 * which the first CreateContainer may wait for; minutes under TCG on a loaded host.
 */
export const SCRATCH_SETUP_ALLOWANCE_MS = 180_000;

/** CreateContainer with a guest pull waits for the pull, the storage setup and the RPC deadline. */
export function guestPullCallTimeoutMs(config: HostConfig): number {
  return (
    config.runtime.image_pull_timeout_s * 1000 +
    SCRATCH_SETUP_ALLOWANCE_MS +
    config.agent.request_timeout_ms
  );
}
