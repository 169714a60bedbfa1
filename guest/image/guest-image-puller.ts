import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isAvailable as nativeAvailable, lsetxattr } from '#native/index.js';
import { isCcError, type Logger } from '#src/lib/index.js';
import {
  formatImageReference,
  preparePull,
  type DecryptionKey,
  type PreparedPull,
} from '#src/oci/index.js';
import type {
  GuestPullHandler,
  GuestPullMount,
  Mounter,
  StorageSpec,
} from '#guest/sandbox/index.js';
import type { CdhClient } from './cdh-client.js';
import { mountContainerRootfs } from './container-rootfs.js';
import { ImageError } from './errors.js';
import { parseGuestPullStorage, type GuestPullRequest } from './guest-pull-storage.js';
import type { ImageStore } from './image-store.js';
import { loadPullOptions } from './pull-options.js';
import { SharedImageCache } from './shared-image-cache.js';

export interface GuestImagePullerOptions {
  /** The agent's storage root; a pulled rootfs is mounted at `<root>/<cid>/rootfs`. */
  readonly storageRoot: string;
  readonly store: ImageStore;
  readonly mounter: Mounter;
  /** Bound of one pull (manifest to last layer), `agent.image_pull_timeout`. */
  readonly pullTimeoutMs: number;
  /** `cdh.toml` written from initdata (read at each pull: it may appear after the agent starts). */
  readonly cdhConfigPath: string | undefined;
  /** Registries reached over plain HTTP, from the agent command line. */
  readonly insecureRegistries: readonly string[];
  /** Key unwrapping and KBS resources (the confidential data hub); absent on host-side tools. */
  readonly cdh?: CdhClient | undefined;
  /** Private keys for JWE-wrapped layer keys (host-side tools and tests). */
  readonly decryptionKeys?: readonly DecryptionKey[] | undefined;
  readonly log: Logger;
}

/** An image unpacked once for the pod: the lower layer of each of its containers' rootfs. */
interface UnpackedImage {
  /** `<store>/image-<digest prefix>-<random>`, removed with the last container using it. */
  readonly dir: string;
  readonly rootfs: string;
}

/**
 * The agent's `image_guest_pull` storage driver: validates the storage, resolves the image and
 * checks its signature policy for this container, unpacks it into the encrypted image store once
 * per pod (keyed by the image's manifest digest; concurrent requests share one pull), and mounts
 * the container's rootfs as an overlay with a writable layer of its own. Nothing of the image
 * comes from the host.
 */
export class GuestImagePuller implements GuestPullHandler {
  readonly #o: GuestImagePullerOptions;
  readonly #images: SharedImageCache<UnpackedImage>;
  #pulls = 0;

  constructor(options: GuestImagePullerOptions) {
    this.#o = options;
    this.#images = new SharedImageCache<UnpackedImage>({
      discard: (img) => rm(img.dir, { recursive: true, force: true }),
      log: options.log,
    });
  }

  /** Images unpacked so far (a container sharing an image does not count). */
  get pulls(): number {
    return this.#pulls;
  }

  async mount(
    spec: StorageSpec,
    containerId: string,
    signal?: AbortSignal,
  ): Promise<GuestPullMount> {
    const req = parseGuestPullStorage(spec, containerId, this.#o.storageRoot);
    let dir: string | undefined;
    let key: string | undefined;
    let timeout: AbortSignal | undefined;
    let t0 = Date.now();
    try {
      // the one-time storage setup is the pod's cost, outside the image's pull timeout
      dir = await this.#o.store.allocate(req.containerId, signal);
      t0 = Date.now();
      timeout = AbortSignal.timeout(this.#o.pullTimeoutMs);
      const bounded = signal ? AbortSignal.any([signal, timeout]) : timeout;
      const prepared = await preparePull(req.reference, {
        ...(await loadPullOptions(this.#o, bounded)),
        shortName: req.shortName,
        preserveOwnership: true,
        // the scratch store's ext4 takes user.*, trusted.* and security.capability
        setXattr: nativeAvailable() ? lsetxattr : undefined,
        signal: bounded,
        log: this.#o.log,
      });
      const got = await this.#images.acquire(
        prepared.imageDigest,
        req.containerId,
        (s) => this.#unpack(prepared, req, s),
        bounded,
      );
      key = prepared.imageDigest;
      await mountContainerRootfs(this.#o.mounter, got.value.rootfs, dir, req.mountPoint);
      if (got.shared)
        this.#o.log.info('guest image shared', {
          container_id: req.containerId,
          image: formatImageReference(req.reference),
          image_digest: prepared.imageDigest,
          ms: Date.now() - t0,
        });
      const k = key;
      return {
        mounts: [req.mountPoint],
        dirs: [req.mountPoint, dir],
        release: () => this.#images.release(k, req.containerId),
      };
    } catch (err) {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      if (key !== undefined)
        await this.#images.release(key, req.containerId).catch(() => undefined);
      throw await this.#explain(err, req, timeout?.aborted === true, t0);
    }
  }

  /** The one pull of an image for the pod (runs under the cache's signal, not a caller's). */
  async #unpack(
    prepared: PreparedPull,
    req: GuestPullRequest,
    signal: AbortSignal,
  ): Promise<UnpackedImage> {
    const t0 = Date.now();
    const hex = prepared.imageDigest.replace(/^[a-z0-9]+:/, '').slice(0, 12);
    const dir = await this.#o.store.allocate(`image-${hex}`, signal);
    try {
      const pulled = await prepared
        .unpack(join(dir, 'rootfs'), signal)
        .catch(async (err: unknown) => {
          // images no container uses any more are kept for reuse until room is needed
          if (!isCcError(err) || err.code !== 'ERR_OCI_NO_SPACE') throw err;
          const freed = await this.#images.evictIdle();
          if (freed === 0) throw err;
          this.#o.log.info('idle guest images freed for room', { images: freed });
          return prepared.unpack(join(dir, 'rootfs'), signal);
        });
      this.#pulls++;
      this.#o.log.info('guest image pulled', {
        container_id: req.containerId,
        image: formatImageReference(req.reference),
        image_digest: pulled.imageDigest,
        bytes: pulled.bytes,
        ms: Date.now() - t0,
      });
      return { dir, rootfs: pulled.rootfs };
    } catch (err) {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
  }

  /** Turns a failed pull into the error CreateContainer reports. */
  async #explain(
    err: unknown,
    req: GuestPullRequest,
    timedOut: boolean,
    t0: number,
  ): Promise<unknown> {
    const image = formatImageReference(req.reference);
    if (timedOut) {
      return new ImageError(
        'deadline_exceeded',
        'ERR_IMAGE_PULL_TIMEOUT',
        `pulling image ${image} for container ${req.containerId} did not finish within the image pull timeout of ${String(Math.round(this.#o.pullTimeoutMs / 1000))} s (agent.image_pull_timeout; took ${String(Date.now() - t0)} ms)`,
        { cause: err },
      );
    }
    if (isCcError(err) && err.code === 'ERR_OCI_NO_SPACE') {
      const u = await this.#o.store.usage();
      const size = u ? ` (${mib(u.totalBytes)} MiB in all)` : '';
      return new ImageError(
        'resource_exhausted',
        'ERR_IMAGE_NO_SPACE',
        `image ${image} does not fit the guest image storage, ${this.#o.store.description}${size}: ${err.message}; give the pod a larger scratch disk (kata-cc: runtime.guest_pull_disk_mib)`,
        { cause: err },
      );
    }
    // configuration and CDH errors already say what is wrong and where
    if (err instanceof ImageError) return err;
    if (isCcError(err)) {
      return new ImageError(err.kind, 'ERR_IMAGE_PULL', `guest pull of ${image}: ${err.message}`, {
        cause: err,
      });
    }
    return new ImageError(
      'internal',
      'ERR_IMAGE_PULL',
      `guest pull of ${image}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

function mib(n: number): string {
  return String(Math.round(n / (1 << 20)));
}
