import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AddressInfo } from 'node:net';
import { NULL_LOGGER, type Logger } from '#src/lib/index.js';
import { TtrpcServer } from '#src/protocol/ttrpc/index.js';
import {
  AA_SOCKET,
  AttestationAgent,
  registerAaService,
  type AaEventLogOptions,
} from '#guest/aa/index.js';
import type { Attester } from '#guest/attester/index.js';
import { GuestKbsClient } from '#guest/kbs-client/index.js';
import { REST_HOST, REST_PORT, RestServer } from '#guest/rest/index.js';
import { CDH_SOCKET, registerCdhServices } from './cdh-server.js';
import { ConfidentialDataHub } from './confidential-data-hub.js';
import { CdhError } from './errors.js';

/**
 * Bound on one KBS request from the guest. Attestation under TCG against a busy KBS (first
 * request: policies compiled) took over 30 s on the shared 2-core machine; 90 s keeps a slow but
 * working KBS usable while a dead one still fails clearly (deadline_exceeded → REST 504).
 */
export const KBS_REQUEST_TIMEOUT_MS = 90_000;
/** Bound on one REST request (attestation + resource, possibly a re-attestation). */
export const REST_REQUEST_TIMEOUT_MS = 240_000;

export interface GuestComponentsOptions {
  readonly attester: Attester;
  /** KBS URL (aa.toml `[token_configs.kbs] url` or cdh.toml `[kbc] url`). */
  readonly kbsUrl?: string | undefined;
  readonly kbsCert?: string | undefined;
  /** The initdata TOML and its digest (sent to the KBS; the digest checked against the TEE report). */
  readonly initData?: { readonly toml: string; readonly digest: Uint8Array } | undefined;
  readonly aaSocket?: string | undefined;
  readonly cdhSocket?: string | undefined;
  /** REST API address; `false` = no REST API. */
  readonly rest?:
    { readonly host?: string | undefined; readonly port?: number | undefined } | false | undefined;
  readonly prefetch?: readonly string[] | undefined;
  readonly requireSignedSecrets?: boolean | undefined;
  /** Keep the AAEL (aa.toml `[eventlog_config] enable_eventlog`); absent = runtime measurement off. */
  readonly eventLog?: AaEventLogOptions | undefined;
  readonly log?: Logger | undefined;
}

export interface RunningGuestComponents {
  readonly aa: AttestationAgent;
  readonly cdh: ConfidentialDataHub;
  readonly kbs: GuestKbsClient | undefined;
  readonly aaSocket: string;
  readonly cdhSocket: string;
  readonly rest: AddressInfo | undefined;
  close(): Promise<void>;
}

const noKbs = {
  getResource: (): Promise<Uint8Array> =>
    Promise.reject(
      new CdhError(
        'failed_precondition',
        'ERR_CDH_CONFIG',
        'no kbs is configured (cdh.toml [kbc] url or aa.toml [token_configs.kbs] url)',
      ),
    ),
};

/** Starts the attestation agent and the CDH on their ttrpc sockets and the REST API, in one process. */
export async function startGuestComponents(
  o: GuestComponentsOptions,
): Promise<RunningGuestComponents> {
  const log = o.log ?? NULL_LOGGER;
  const kbs =
    o.kbsUrl === undefined
      ? undefined
      : new GuestKbsClient({
          url: o.kbsUrl,
          caPem: o.kbsCert,
          attester: o.attester,
          initDataToml: o.initData?.toml,
          timeoutMs: KBS_REQUEST_TIMEOUT_MS,
          log,
        });
  const aa = new AttestationAgent({
    attester: o.attester,
    kbs,
    initDataDigest: o.initData?.digest,
    eventLog: o.eventLog,
    log,
  });
  const source = kbs
    ? {
        getResource: async (uri: string, opts: { signal?: AbortSignal | undefined } = {}) => {
          await aa.checkInitDataBinding(opts);
          return kbs.getResource(uri, opts);
        },
      }
    : noKbs;
  const cdh = new ConfidentialDataHub({
    kbs: source,
    requireSignedSecrets: o.requireSignedSecrets,
    log,
  });
  const aaSocket = o.aaSocket ?? AA_SOCKET;
  const cdhSocket = o.cdhSocket ?? CDH_SOCKET;
  const aaServer = new TtrpcServer({ logger: log });
  registerAaService(aaServer, aa);
  const cdhServer = new TtrpcServer({ logger: log });
  registerCdhServices(cdhServer, cdh);
  const rest =
    o.rest === false
      ? undefined
      : new RestServer({
          requestTimeoutMs: REST_REQUEST_TIMEOUT_MS,
          backends: {
            getResource: (uri, opts) => cdh.getResource(uri, opts),
            getToken: (t, opts) => aa.getToken(t, opts),
            getEvidence: (rd, opts) => aa.getEvidence(rd, opts),
          },
          log,
        });
  const close = async (): Promise<void> => {
    await Promise.all([aaServer.close(), cdhServer.close(), rest?.close()]);
  };
  try {
    for (const p of [aaSocket, cdhSocket]) await mkdir(dirname(p), { recursive: true });
    await aaServer.listen(aaSocket);
    await cdhServer.listen(cdhSocket);
    const at = o.rest === false ? undefined : o.rest;
    const restAddr = rest
      ? await rest.listen(at?.host ?? REST_HOST, at?.port ?? REST_PORT)
      : undefined;
    if (o.prefetch && o.prefetch.length > 0) void cdh.prefetch(o.prefetch);
    log.info('guest components serving', {
      tee: o.attester.tee,
      aa_socket: aaSocket,
      cdh_socket: cdhSocket,
      rest_port: restAddr?.port,
      kbs: o.kbsUrl,
    });
    return { aa, cdh, kbs, aaSocket, cdhSocket, rest: restAddr, close };
  } catch (err) {
    await close();
    throw err;
  }
}
