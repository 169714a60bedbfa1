import { readFile } from 'node:fs/promises';
import {
  envString,
  isCcError,
  isPlainObject,
  runProgram,
  wrapError,
  type Env,
} from '#src/lib/index.js';
import {
  encodeKeyUnwrapRequest,
  encodeKeyWrapRequest,
  KEYPROVIDER_MAX_MESSAGE,
  parseKeyUnwrapResponse,
  parseKeyWrapResponse,
  type KeyProviderParameters,
  type KeyUnwrapper,
} from '#src/oci/index.js';
import { ImageCryptError } from './errors.js';

/** The environment variable ocicrypt reads its keyprovider config from. */
export const OCICRYPT_KEYPROVIDER_CONFIG = 'OCICRYPT_KEYPROVIDER_CONFIG';

/** A `cmd` key provider: ocicrypt runs `path args…` with the request on stdin. */
export interface KeyProviderCommand {
  readonly path: string;
  readonly args: readonly string[];
}

/** ocicrypt's `{"key-providers": {name: {"cmd": {path, args}} | {"grpc": addr}}}`. */
export type KeyProviderConfig = ReadonlyMap<string, KeyProviderCommand | { readonly grpc: string }>;

function bad(file: string, why: string): ImageCryptError {
  return new ImageCryptError(
    'invalid_argument',
    'ERR_KEYPROVIDER_CONFIG',
    `ocicrypt keyprovider config ${file}: ${why}`,
  );
}

export function parseKeyProviderConfig(text: string, file: string): KeyProviderConfig {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw bad(file, 'not JSON');
  }
  const providers = isPlainObject(o) ? o['key-providers'] : undefined;
  if (!isPlainObject(providers)) throw bad(file, '"key-providers" must be an object');
  const out = new Map<string, KeyProviderCommand | { grpc: string }>();
  for (const [name, attrs] of Object.entries(providers)) {
    const at = `key-providers.${name}`;
    if (!isPlainObject(attrs)) throw bad(file, `${at} must be an object`);
    const cmd = attrs['cmd'];
    if (cmd !== undefined && cmd !== null) {
      const path = isPlainObject(cmd) ? cmd['path'] : undefined;
      const args = isPlainObject(cmd) ? (cmd['args'] ?? []) : undefined;
      if (typeof path !== 'string' || path === '') throw bad(file, `${at}.cmd.path must be a path`);
      if (!Array.isArray(args) || !args.every((a) => typeof a === 'string'))
        throw bad(file, `${at}.cmd.args must be an array of strings`);
      out.set(name, { path, args });
    } else if (typeof attrs['grpc'] === 'string') out.set(name, { grpc: attrs['grpc'] });
    else throw bad(file, `${at} has neither "cmd" nor "grpc"`);
  }
  return out;
}

/** Reads the config `OCICRYPT_KEYPROVIDER_CONFIG` names; undefined when the variable is unset. */
export async function loadKeyProviderConfig(env: Env): Promise<KeyProviderConfig | undefined> {
  const file = envString(env, OCICRYPT_KEYPROVIDER_CONFIG);
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw wrapError(
      err,
      `cannot read ${OCICRYPT_KEYPROVIDER_CONFIG} ${file}`,
      'ERR_KEYPROVIDER_CONFIG',
    );
  }
  return parseKeyProviderConfig(text, file);
}

async function runKeyProvider(
  config: KeyProviderConfig,
  name: string,
  input: string,
  parse: (json: string) => Uint8Array,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const provider = config.get(name);
  if (provider === undefined)
    throw new ImageCryptError(
      'failed_precondition',
      'ERR_KEYPROVIDER_CONFIG',
      `key provider ${JSON.stringify(name)} is not in the ocicrypt keyprovider config (${OCICRYPT_KEYPROVIDER_CONFIG}); configured: ${[...config.keys()].join(', ') || 'none'}`,
    );
  if ('grpc' in provider)
    throw new ImageCryptError(
      'unimplemented',
      'ERR_KEYPROVIDER_CONFIG',
      `key provider ${JSON.stringify(name)} is a grpc provider; only "cmd" providers are supported here`,
    );
  let stdout: string;
  try {
    ({ stdout } = await runProgram([provider.path, ...provider.args], {
      input,
      maxStdout: KEYPROVIDER_MAX_MESSAGE,
      signal,
    }));
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ImageCryptError(
      isCcError(err) && err.kind === 'failed_precondition' ? 'failed_precondition' : 'unavailable',
      'ERR_KEYPROVIDER_CMD',
      `key provider ${JSON.stringify(name)} (${provider.path}) failed: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  try {
    return parse(stdout);
  } catch (err) {
    throw new ImageCryptError(
      'internal',
      'ERR_KEYPROVIDER_CMD',
      `key provider ${JSON.stringify(name)} (${provider.path}) answered badly: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

/**
 * Wraps one layer's private options through a configured `cmd` key provider, speaking the
 * ocicrypt keyprovider protocol as ocicrypt does (request on stdin, response on stdout); returns
 * the annotation bytes (the layer annotation holds their base64).
 */
export function wrapWithKeyProvider(
  config: KeyProviderConfig,
  name: string,
  optsData: Uint8Array,
  parameters: KeyProviderParameters,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const input = encodeKeyWrapRequest(optsData, parameters);
  return runKeyProvider(config, name, input, parseKeyWrapResponse, signal);
}

/**
 * A `KeyUnwrapper` for `pullImage` that asks configured `cmd` key providers, as ocicrypt does for
 * `--decryption-key provider:NAME:PARAMS`: `parameters` maps NAME to the PARAMS given.
 */
export function keyProviderUnwrapper(
  config: KeyProviderConfig,
  parameters: KeyProviderParameters,
): KeyUnwrapper {
  return {
    unwrapKey(req, signal) {
      if (parameters[req.provider] === undefined)
        return Promise.reject(
          new ImageCryptError(
            'failed_precondition',
            'ERR_KEYPROVIDER_CONFIG',
            `layer ${req.layerDigest} is wrapped by key provider ${JSON.stringify(req.provider)}, and no --decryption-key provider:${req.provider}:… was given`,
          ),
        );
      const input = encodeKeyUnwrapRequest(req.annotation, parameters);
      return runKeyProvider(config, req.provider, input, parseKeyUnwrapResponse, signal);
    },
  };
}
