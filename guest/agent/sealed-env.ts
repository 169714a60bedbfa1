import { CcError, sleep, type Logger } from '#src/lib/index.js';
import { CDH_SERVICES, sealedSecretService } from '#src/protocol/cdh/index.js';
import { TtrpcClient, createTypedClient } from '#src/protocol/ttrpc/index.js';
import { connectUnix } from '#src/protocol/transport/index.js';
import { AgentError } from './errors.js';

/** The confidential data hub's upstream socket (served by the guest-components process). */
export const CDH_SOCKET_PATH = '/run/confidential-containers/cdh.sock';
/** Prefix of a sealed secret value (guest-components `SEALED_SECRET.md`). */
export const SEALED_PREFIX = 'sealed.';
/** How long CreateContainer waits for the CDH socket to appear (the components start after the agent). */
export const CDH_WAIT_MS = 60_000;

/** Bound on one UnsealSecret (attestation with the KBS included). */
export const UNSEAL_TIMEOUT_MS = 120_000;

/** Turns sealed secrets into their plaintext; the agent's view of the CDH. */
export interface SecretUnsealer {
  unseal(sealed: string, opts?: { signal?: AbortSignal | undefined }): Promise<Uint8Array>;
}

export interface CdhUnsealerOptions {
  readonly socketPath?: string | undefined;
  /** Bound on waiting for the socket to accept connections. */
  readonly waitMs?: number | undefined;
  readonly log: Logger;
}

/** `SecretUnsealer` over the CDH's ttrpc `api.SealedSecretService/UnsealSecret`, one connection per call. */
export function createCdhUnsealer(o: CdhUnsealerOptions): SecretUnsealer {
  const path = o.socketPath ?? CDH_SOCKET_PATH;
  const waitMs = o.waitMs ?? CDH_WAIT_MS;
  return {
    async unseal(sealed, opts = {}) {
      const deadline = Date.now() + waitMs;
      for (;;) {
        let client: TtrpcClient | undefined;
        try {
          client = new TtrpcClient(await connectUnix(path, { signal: opts.signal }));
        } catch (err) {
          const retry =
            err instanceof CcError &&
            (err.kind === 'not_found' || err.kind === 'unavailable') &&
            Date.now() < deadline;
          if (!retry)
            throw new AgentError(
              'unavailable',
              'ERR_AGENT_SEALED_SECRET',
              `cannot reach the confidential data hub at ${path} to unseal a secret (are the guest components running?)`,
              { cause: err },
            );
          await sleep(250, opts.signal);
          continue;
        }
        try {
          const ss = createTypedClient(client, sealedSecretService);
          const out = await ss.UnsealSecret(
            { secret: Buffer.from(sealed) },
            { signal: opts.signal, timeoutMs: UNSEAL_TIMEOUT_MS },
          );
          return out.plaintext;
        } finally {
          await client.close();
        }
      }
    },
  };
}

/** Whether any `NAME=value` entry holds a sealed secret. */
export function hasSealedEnv(env: readonly string[]): boolean {
  return env.some((e) => e.slice(e.indexOf('=') + 1).startsWith(SEALED_PREFIX));
}

/**
 * Replaces every `NAME=sealed.<jws>` entry by `NAME=<plaintext>` through the CDH. A secret that
 * does not unseal fails the whole call (naming the variable, never the value); a plaintext that
 * is not UTF-8 or holds a NUL cannot be an environment value and is refused.
 */
export async function unsealEnv(
  env: readonly string[],
  unsealer: SecretUnsealer,
  opts: { readonly signal?: AbortSignal | undefined; readonly log?: Logger | undefined } = {},
): Promise<string[]> {
  const out: string[] = [];
  for (const entry of env) {
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq);
    const value = eq < 0 ? '' : entry.slice(eq + 1);
    if (!value.startsWith(SEALED_PREFIX)) {
      out.push(entry);
      continue;
    }
    let plain: Uint8Array;
    try {
      plain = await unsealer.unseal(value, { signal: opts.signal });
    } catch (err) {
      const kind = err instanceof CcError ? err.kind : 'internal';
      throw new AgentError(
        kind === 'invalid_argument' || kind === 'permission_denied' || kind === 'unavailable'
          ? kind
          : 'failed_precondition',
        'ERR_AGENT_SEALED_SECRET',
        `cannot unseal environment variable ${name}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(plain);
    } catch (err) {
      throw new AgentError(
        'invalid_argument',
        'ERR_AGENT_SEALED_SECRET',
        `environment variable ${name}: the unsealed secret is not UTF-8 text`,
        { cause: err },
      );
    }
    if (text.includes('\0'))
      throw new AgentError(
        'invalid_argument',
        'ERR_AGENT_SEALED_SECRET',
        `environment variable ${name}: the unsealed secret contains a NUL byte`,
      );
    out.push(`${name}=${text}`);
    opts.log?.info('sealed environment variable unsealed', {
      name,
      service: CDH_SERVICES.sealedSecret,
    });
  }
  return out;
}
