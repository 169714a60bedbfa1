import { isCcError, sleep, type Logger } from '#src/lib/index.js';
import { cdhKeyProviderService, getResourceService } from '#src/protocol/cdh/index.js';
import { TtrpcClient, createTypedClient } from '#src/protocol/ttrpc/index.js';
import { connectUnix } from '#src/protocol/transport/index.js';
import {
  encodeKeyUnwrapRequest,
  parseKeyUnwrapResponse,
  type KeyUnwrapRequest,
  type KeyUnwrapper,
} from '#src/oci/index.js';
import { ImageError } from './errors.js';

/** Fetches a KBS resource (`kbs:///repo/type/tag`) through the confidential data hub. */
export interface ResourceFetcher {
  getResource(uri: string, signal?: AbortSignal): Promise<Uint8Array>;
}

export interface CdhClientOptions {
  /** The CDH's ttrpc socket (guest-components: `/run/confidential-containers/cdh.sock`). */
  readonly socketPath: string;
  /** Deadline of one CDH call (attestation with the KBS happens inside it). */
  readonly callTimeoutMs: number;
  /** How long to wait for the socket to appear (guest-components start after the agent). */
  readonly waitMs: number;
  readonly log: Logger;
}

/**
 * The agent's client of the confidential data hub, which runs in the separate guest-components
 * process: layer keys are unwrapped and KBS resources fetched there, so the agent (the process
 * the host talks to) never holds a KBS secret or the attestation key. Connects lazily and again
 * after the connection is lost.
 */
export class CdhClient implements KeyUnwrapper, ResourceFetcher {
  readonly #o: CdhClientOptions;
  #client: TtrpcClient | undefined;

  constructor(options: CdhClientOptions) {
    this.#o = options;
  }

  async #connect(signal?: AbortSignal): Promise<TtrpcClient> {
    if (this.#client !== undefined && !this.#client.isClosed) return this.#client;
    const deadline = Date.now() + this.#o.waitMs;
    for (;;) {
      try {
        const socket = await connectUnix(this.#o.socketPath, { signal, timeoutMs: 5_000 });
        this.#client = new TtrpcClient(socket);
        return this.#client;
      } catch (err) {
        const retry =
          isCcError(err) &&
          (err.kind === 'not_found' || err.kind === 'unavailable') &&
          Date.now() < deadline &&
          signal?.aborted !== true;
        if (!retry) throw this.#unreachable(err);
        await sleep(250, signal);
      }
    }
  }

  #unreachable(err: unknown): ImageError {
    return new ImageError(
      'unavailable',
      'ERR_IMAGE_CDH',
      `the confidential data hub is not reachable at ${this.#o.socketPath} (are the guest components running?): ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }

  async getResource(uri: string, signal?: AbortSignal): Promise<Uint8Array> {
    const c = createTypedClient(await this.#connect(signal), getResourceService);
    const r = await c
      .GetResource({ ResourcePath: uri }, { signal, timeoutMs: this.#o.callTimeoutMs })
      .catch((err: unknown) => {
        throw cdhFailure(`cannot get resource ${uri}`, err);
      });
    return new Uint8Array(r.Resource);
  }

  async unwrapKey(request: KeyUnwrapRequest, signal?: AbortSignal): Promise<Uint8Array> {
    const c = createTypedClient(await this.#connect(signal), cdhKeyProviderService);
    const input = Buffer.from(encodeKeyUnwrapRequest(request.annotation));
    const r = await c
      .UnWrapKey(
        { KeyProviderKeyWrapProtocolInput: input },
        { signal, timeoutMs: this.#o.callTimeoutMs },
      )
      .catch((err: unknown) => {
        throw cdhFailure(`cannot unwrap the key of layer ${request.layerDigest}`, err);
      });
    this.#o.log.debug('layer key unwrapped', { layer: request.layerDigest });
    return parseKeyUnwrapResponse(Buffer.from(r.KeyProviderKeyWrapProtocolOutput).toString());
  }

  async close(): Promise<void> {
    const c = this.#client;
    this.#client = undefined;
    await c?.close();
  }
}

/** Keeps the CDH's error kind (permission_denied from the KBS stays permission_denied). */
function cdhFailure(what: string, err: unknown): ImageError {
  const kind = isCcError(err) ? err.kind : 'unavailable';
  return new ImageError(
    kind,
    'ERR_IMAGE_CDH',
    `confidential data hub: ${what}: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}
