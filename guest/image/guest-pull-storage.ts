import { posix } from 'node:path';
import { isPlainObject } from '#src/lib/index.js';
import {
  formatImageReference,
  parseImageReference,
  shortNameOf,
  type ImageReference,
} from '#src/oci/index.js';
import { checkId, type StorageSpec } from '#guest/sandbox/index.js';
import { badStorage } from './errors.js';

/** The `driver_options` key whose value is the pull metadata JSON (`{"metadata": {…}}`). */
export const GUEST_PULL_OPTION = 'image_guest_pull';
/** Largest metadata JSON accepted (the CRI annotations of one container). */
export const MAX_PULL_METADATA_BYTES = 64 << 10;
const MAX_METADATA_ENTRIES = 256;

/** One validated `image_guest_pull` storage. */
export interface GuestPullRequest {
  readonly containerId: string;
  readonly reference: ImageReference;
  /** The name when the source was a short one (`busybox`): registries.conf search/aliases apply. */
  readonly shortName: string | undefined;
  /** Where the rootfs must appear: `<storageRoot>/<containerId>/rootfs`. */
  readonly mountPoint: string;
  /** `image_guest_pull` metadata (the container's CRI annotations as the runtime sent them). */
  readonly metadata: Readonly<Record<string, string>>;
}

function parseMetadata(driverOptions: readonly string[]): Record<string, string> {
  const entries = driverOptions.filter((o) => o.startsWith(`${GUEST_PULL_OPTION}=`));
  if (entries.length > 1)
    throw badStorage(`storage.driver_options: ${GUEST_PULL_OPTION}= is given more than once`);
  const raw = entries[0]?.slice(GUEST_PULL_OPTION.length + 1);
  if (raw === undefined || raw === '') return {};
  if (Buffer.byteLength(raw) > MAX_PULL_METADATA_BYTES)
    throw badStorage(
      `storage.driver_options: ${GUEST_PULL_OPTION} metadata is larger than ${MAX_PULL_METADATA_BYTES} bytes`,
    );
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw badStorage(`storage.driver_options: ${GUEST_PULL_OPTION} is not JSON`);
  }
  if (!isPlainObject(doc))
    throw badStorage(`storage.driver_options: ${GUEST_PULL_OPTION} must be a JSON object`);
  const meta = doc['metadata'] ?? {};
  if (!isPlainObject(meta))
    throw badStorage(`storage.driver_options: ${GUEST_PULL_OPTION}.metadata must be an object`);
  const out: Record<string, string> = {};
  const keys = Object.keys(meta);
  if (keys.length > MAX_METADATA_ENTRIES)
    throw badStorage(`storage.driver_options: more than ${MAX_METADATA_ENTRIES} metadata entries`);
  for (const k of keys) {
    const v = meta[k];
    if (typeof v !== 'string')
      throw badStorage(`storage.driver_options: metadata ${JSON.stringify(k)} must be a string`);
    out[k] = v;
  }
  return out;
}

/**
 * Validates an `image_guest_pull` storage from the (untrusted) host: the source must be an image
 * reference, the mount point exactly `<storageRoot>/<containerId>/rootfs` (no `..`, no other
 * container's directory), and the metadata well-formed.
 */
export function parseGuestPullStorage(
  s: StorageSpec,
  containerId: string,
  storageRoot: string,
): GuestPullRequest {
  const cid = checkId(containerId, 'container_id');
  const expected = posix.join(storageRoot, cid, 'rootfs');
  if (s.mountPoint !== expected)
    throw badStorage(
      `storage.mount_point: ${JSON.stringify(s.mountPoint)} must be ${expected} for a guest-pulled image`,
    );
  if (s.source === '' || s.source === 'pause')
    throw badStorage(
      `storage.source: ${JSON.stringify(s.source)} is not an image reference (the sandbox container uses the pause bundle of the guest image and needs no storage)`,
    );
  let reference: ImageReference;
  try {
    reference = parseImageReference(s.source);
  } catch (err) {
    throw badStorage(`storage.source: ${err instanceof Error ? err.message : String(err)}`);
  }
  const metadata = parseMetadata(s.driverOptions ?? []);
  const named = metadata['io.kubernetes.cri.image-name'];
  if (named !== undefined && named !== '' && !sameImage(named, reference))
    throw badStorage(
      `storage.source ${formatImageReference(reference)} differs from the io.kubernetes.cri.image-name metadata ${JSON.stringify(named)}`,
    );
  return {
    containerId: cid,
    reference,
    shortName: shortNameOf(s.source),
    mountPoint: expected,
    metadata,
  };
}

function sameImage(name: string, ref: ImageReference): boolean {
  try {
    return formatImageReference(parseImageReference(name)) === formatImageReference(ref);
  } catch {
    return false;
  }
}
