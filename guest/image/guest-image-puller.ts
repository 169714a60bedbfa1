import { readFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isAvailable as nativeAvailable, lsetxattr } from '#native/index.js';
import { isCcError, isSystemError, type Logger } from '#src/lib/index.js';
import {
  formatImageReference,
  isOciError,
  parseRegistriesConf,
  pullImage,
  type RegistriesConfig,
  type DecryptionKey,
  type PullImageOptions,
} from '#src/oci/index.js';
import type {
  GuestPullHandler,
  GuestPullMount,
  Mounter,
  StorageSpec,
} from '#guest/sandbox/index.js';
import type { CdhClient } from './cdh-client.js';
import { ImageError } from './errors.js';
import { parseGuestPullStorage, type GuestPullRequest } from './guest-pull-storage.js';
import {
  loadSignaturePolicy,
  parseImageSettings,
  parseRegistryAuthFile,
  type ImageSettings,
} from './image-settings.js';
import type { ImageStore } from './image-store.js';

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

/**
 * The agent's `image_guest_pull` storage driver: validates the storage, pulls the image with
 * src/oci into the encrypted image store under the pull timeout, and bind-mounts the rootfs at
 * the storage's mount point. Nothing of the image comes from the host.
 */
export class GuestImagePuller implements GuestPullHandler {
  readonly #o: GuestImagePullerOptions;

  constructor(options: GuestImagePullerOptions) {
    this.#o = options;
  }

  async mount(
    spec: StorageSpec,
    containerId: string,
    signal?: AbortSignal,
  ): Promise<GuestPullMount> {
    const req = parseGuestPullStorage(spec, containerId, this.#o.storageRoot);
    let dir: string | undefined;
    let timeout: AbortSignal | undefined;
    let t0 = Date.now();
    try {
      // the one-time storage setup is the pod's cost, outside the image's pull timeout
      dir = await this.#o.store.allocate(req.containerId, signal);
      t0 = Date.now();
      timeout = AbortSignal.timeout(this.#o.pullTimeoutMs);
      const bounded = signal ? AbortSignal.any([signal, timeout]) : timeout;
      const pulled = await pullImage(req.reference, join(dir, 'rootfs'), {
        ...(await this.#pullOptions(bounded)),
        shortName: req.shortName,
        preserveOwnership: true,
        // the scratch store's ext4 takes user.*, trusted.* and security.capability
        setXattr: nativeAvailable() ? lsetxattr : undefined,
        signal: bounded,
        log: this.#o.log,
      });
      await mkdir(req.mountPoint, { recursive: true });
      await this.#o.mounter.mount(pulled.rootfs, req.mountPoint, 'none', ['bind']);
      this.#o.log.info('guest image pulled', {
        container_id: req.containerId,
        image: formatImageReference(req.reference),
        image_digest: pulled.imageDigest,
        bytes: pulled.bytes,
        ms: Date.now() - t0,
      });
      return { mounts: [req.mountPoint], dirs: [req.mountPoint, dir] };
    } catch (err) {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      throw await this.#explain(err, req, timeout?.aborted === true, t0);
    }
  }

  async #settings(): Promise<ImageSettings> {
    let text: string | undefined;
    if (this.#o.cdhConfigPath !== undefined)
      text = await readFile(this.#o.cdhConfigPath, 'utf8').catch((err: unknown) => {
        if (isSystemError(err, 'ENOENT')) return undefined;
        throw err;
      });
    const s = parseImageSettings(text, this.#o.insecureRegistries);
    if (s.ignoredKeys.length > 0)
      this.#o.log.warn('cdh.toml [image] keys not supported by this puller', {
        keys: s.ignoredKeys,
      });
    return s;
  }

  async #pullOptions(signal: AbortSignal): Promise<PullImageOptions> {
    const s = await this.#settings();
    const cdh = this.#o.cdh;
    const needCdh = (what: string): CdhClient => {
      if (cdh === undefined)
        throw new ImageError(
          'failed_precondition',
          'ERR_IMAGE_CDH',
          `${what} names a KBS resource but this puller has no confidential data hub`,
        );
      return cdh;
    };
    const registries = await this.#registries(s, needCdh, signal);
    return {
      registries,
      insecureRegistries: s.insecureRegistries,
      ca: s.extraRootCertificates,
      keyUnwrapper: cdh,
      decryptionKeys: this.#o.decryptionKeys,
      policy:
        s.policyUri === undefined
          ? undefined
          : await loadSignaturePolicy(s.policyUri, needCdh('image_security_policy_uri'), signal),
      auth:
        s.credentialsUri === undefined
          ? undefined
          : parseRegistryAuthFile(
              await needCdh('authenticated_registry_credentials_uri').getResource(
                s.credentialsUri,
                signal,
              ),
            ),
    };
  }

  /** registries.conf from the KBS (`registry_configuration_uri`) or inline in cdh.toml. */
  async #registries(
    s: ImageSettings,
    needCdh: (what: string) => CdhClient,
    signal: AbortSignal,
  ): Promise<RegistriesConfig | undefined> {
    let conf = s.registryConfig;
    const uri = s.registryConfigUri;
    if (uri !== undefined) {
      const bytes = await needCdh('registry_configuration_uri').getResource(uri, signal);
      const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
      let decoded: string;
      try {
        decoded = text.decode(bytes);
      } catch {
        throw new ImageError(
          'invalid_argument',
          'ERR_IMAGE_CONFIG',
          `registry configuration ${uri}: not UTF-8 text (expected containers-registries.conf TOML)`,
        );
      }
      try {
        conf = parseRegistriesConf(decoded, uri);
      } catch (err) {
        if (!isOciError(err, 'ERR_OCI_REGISTRIES_CONF')) throw err;
        throw new ImageError(
          'invalid_argument',
          'ERR_IMAGE_CONFIG',
          `registry configuration ${err.message}`,
          { cause: err },
        );
      }
    }
    if (conf !== undefined && conf.ignoredKeys.length > 0)
      this.#o.log.warn('registries.conf keys without meaning in the guest ignored', {
        keys: conf.ignoredKeys,
      });
    return conf;
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
