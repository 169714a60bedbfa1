import { parse as parseToml } from 'smol-toml';
import { expectBoolean, expectInt, expectObject, expectString } from '#src/lib/index.js';
import { AAEL_DEFAULT_PCR } from '#src/tee/index.js';
import { AaError } from './errors.js';

/** What the guest components take from initdata's `aa.toml`. */
export interface AaConfig {
  /** `[token_configs.kbs] url` */
  readonly kbsUrl: string | undefined;
  /** `[token_configs.kbs] cert` (PEM) */
  readonly kbsCert: string | undefined;
  /** `[eventlog_config]`: record runtime measurements in the AAEL (default off, PCR 17). */
  readonly eventlog: { readonly enabled: boolean; readonly initPcr: number };
}

/** Parses `aa.toml` (upstream keys: `[token_configs.kbs]`, `[token_configs.coco_as]`, `[eventlog_config]`). */
export function parseAaConfig(text: string, at = 'aa.toml'): AaConfig {
  try {
    const o = expectObject(parseToml(text), at, ['token_configs', 'eventlog_config']);
    const tc = expectObject(o['token_configs'] ?? {}, `${at}.token_configs`, ['kbs', 'coco_as']);
    const kbs = expectObject(tc['kbs'] ?? {}, `${at}.token_configs.kbs`, ['url', 'cert']);
    const opt = (v: unknown, p: string): string | undefined =>
      v === undefined ? undefined : expectString(v, p, { nonEmpty: true });
    const ev = expectObject(o['eventlog_config'] ?? {}, `${at}.eventlog_config`, [
      'enable_eventlog',
      'init_pcr',
    ]);
    return Object.freeze({
      kbsUrl: opt(kbs['url'], `${at}.token_configs.kbs.url`),
      kbsCert: opt(kbs['cert'], `${at}.token_configs.kbs.cert`),
      eventlog: Object.freeze({
        enabled: expectBoolean(
          ev['enable_eventlog'] ?? false,
          `${at}.eventlog_config.enable_eventlog`,
        ),
        initPcr: expectInt(ev['init_pcr'] ?? AAEL_DEFAULT_PCR, `${at}.eventlog_config.init_pcr`, {
          min: 0,
          max: 63,
        }),
      }),
    });
  } catch (err) {
    throw new AaError(
      'invalid_argument',
      'ERR_AA_CONFIG',
      err instanceof Error ? err.message : String(err),
      { cause: err },
    );
  }
}
