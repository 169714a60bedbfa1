import { NULL_LOGGER, type Logger } from '#src/lib/index.js';
import { unwrapKey } from './key-unwrap.js';
import { unsealSecret } from './sealed-secret.js';

/** The KBS side the hub needs (a `GuestKbsClient`). */
export interface ResourceSource {
  getResource(uri: string, opts?: { signal?: AbortSignal | undefined }): Promise<Uint8Array>;
}

export interface ConfidentialDataHubOptions {
  readonly kbs: ResourceSource;
  readonly requireSignedSecrets?: boolean | undefined;
  readonly log?: Logger | undefined;
}

export interface HubCall {
  readonly signal?: AbortSignal | undefined;
}

/** The confidential data hub: resources, sealed secrets and image keys, all from the KBS. */
export class ConfidentialDataHub {
  readonly #o: ConfidentialDataHubOptions;
  readonly #log: Logger;

  constructor(options: ConfidentialDataHubOptions) {
    this.#o = options;
    this.#log = (options.log ?? NULL_LOGGER).child({ subsystem: 'cdh' });
  }

  /** `kbs:///repo/type/tag` → the resource bytes. */
  async getResource(uri: string, opts: HubCall = {}): Promise<Uint8Array> {
    const value = await this.#o.kbs.getResource(uri, { signal: opts.signal });
    this.#log.info('resource fetched', { resource: uri, bytes: value.length });
    return value;
  }

  /** `sealed.<jws>` → the plaintext. */
  async unsealSecret(secret: Uint8Array, opts: HubCall = {}): Promise<Uint8Array> {
    const out = await unsealSecret(Buffer.from(secret).toString('utf8'), {
      getResource: (uri, o) => this.#o.kbs.getResource(uri, o),
      requireSignature: this.#o.requireSignedSecrets,
      signal: opts.signal,
    });
    this.#log.info('secret unsealed', {});
    return out;
  }

  /** keyprovider JSON (`keyunwrap`) in, keyprovider JSON (`keyunwrapresults`) out. */
  unwrapKey(input: Uint8Array, opts: HubCall = {}): Promise<Uint8Array> {
    return unwrapKey(input, (uri, o) => this.#o.kbs.getResource(uri, o), opts.signal);
  }

  /** Fetches resources ahead of use so a later request does not wait on attestation; failures are logged. */
  async prefetch(
    uris: readonly string[],
    opts: HubCall = {},
  ): Promise<{ fetched: string[]; failed: string[] }> {
    const fetched: string[] = [];
    const failed: string[] = [];
    for (const uri of uris) {
      try {
        await this.#o.kbs.getResource(uri, { signal: opts.signal });
        fetched.push(uri);
      } catch (err) {
        failed.push(uri);
        this.#log.warn('resource prefetch failed', {
          resource: uri,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    return { fetched, failed };
  }
}
