import { readFile } from 'node:fs/promises';
import { isSystemError, type Logger } from '#src/lib/index.js';
import {
  isOciError,
  parseRegistriesConf,
  type DecryptionKey,
  type PullImageOptions,
  type RegistriesConfig,
} from '#src/oci/index.js';
import type { CdhClient } from './cdh-client.js';
import { ImageError } from './errors.js';
import {
  loadSignaturePolicy,
  parseImageSettings,
  parseRegistryAuthFile,
  type ImageSettings,
} from './image-settings.js';

/** Where a guest pull's settings come from. */
export interface PullSettingsSource {
  /** `cdh.toml` written from initdata (read at each pull: it may appear after the agent starts). */
  readonly cdhConfigPath: string | undefined;
  /** Registries reached over plain HTTP, from the agent command line. */
  readonly insecureRegistries: readonly string[];
  readonly cdh?: CdhClient | undefined;
  readonly decryptionKeys?: readonly DecryptionKey[] | undefined;
  readonly log: Logger;
}

async function readSettings(o: PullSettingsSource): Promise<ImageSettings> {
  let text: string | undefined;
  if (o.cdhConfigPath !== undefined)
    text = await readFile(o.cdhConfigPath, 'utf8').catch((err: unknown) => {
      if (isSystemError(err, 'ENOENT')) return undefined;
      throw err;
    });
  const s = parseImageSettings(text, o.insecureRegistries);
  if (s.ignoredKeys.length > 0)
    o.log.warn('cdh.toml [image] keys not supported by this puller', { keys: s.ignoredKeys });
  return s;
}

/** registries.conf from the KBS (`registry_configuration_uri`) or inline in cdh.toml. */
async function loadRegistries(
  s: ImageSettings,
  needCdh: (what: string) => CdhClient,
  log: Logger,
  signal: AbortSignal,
): Promise<RegistriesConfig | undefined> {
  let conf = s.registryConfig;
  const uri = s.registryConfigUri;
  if (uri !== undefined) {
    const bytes = await needCdh('registry_configuration_uri').getResource(uri, signal);
    let decoded: string;
    try {
      decoded = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
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
    log.warn('registries.conf keys without meaning in the guest ignored', {
      keys: conf.ignoredKeys,
    });
  return conf;
}

/**
 * The `pullImage` options of one guest pull: `cdh.toml` `[image]` read now, the policy,
 * credentials and registries.conf it names fetched through the CDH.
 */
export async function loadPullOptions(
  o: PullSettingsSource,
  signal: AbortSignal,
): Promise<PullImageOptions> {
  const s = await readSettings(o);
  const cdh = o.cdh;
  const needCdh = (what: string): CdhClient => {
    if (cdh === undefined)
      throw new ImageError(
        'failed_precondition',
        'ERR_IMAGE_CDH',
        `${what} names a KBS resource but this puller has no confidential data hub`,
      );
    return cdh;
  };
  return {
    registries: await loadRegistries(s, needCdh, o.log, signal),
    insecureRegistries: s.insecureRegistries,
    ca: s.extraRootCertificates,
    keyUnwrapper: cdh,
    decryptionKeys: o.decryptionKeys,
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
