import { parse as parseToml } from 'smol-toml';
import { expectObject, expectString } from '#src/lib/index.js';
import { AaError } from './errors.js';

/** What the guest components take from initdata's `aa.toml`. */
export interface AaConfig {
  /** `[token_configs.kbs] url` */
  readonly kbsUrl: string | undefined;
  /** `[token_configs.kbs] cert` (PEM) */
  readonly kbsCert: string | undefined;
}

/** Parses `aa.toml` (upstream keys: `[token_configs.kbs]`, `[token_configs.coco_as]`, `[eventlog_config]`). */
export function parseAaConfig(text: string, at = 'aa.toml'): AaConfig {
  try {
    const o = expectObject(parseToml(text), at, ['token_configs', 'eventlog_config']);
    const tc = expectObject(o['token_configs'] ?? {}, `${at}.token_configs`, ['kbs', 'coco_as']);
    const kbs = expectObject(tc['kbs'] ?? {}, `${at}.token_configs.kbs`, ['url', 'cert']);
    const opt = (v: unknown, p: string): string | undefined =>
      v === undefined ? undefined : expectString(v, p, { nonEmpty: true });
    return Object.freeze({
      kbsUrl: opt(kbs['url'], `${at}.token_configs.kbs.url`),
      kbsCert: opt(kbs['cert'], `${at}.token_configs.kbs.cert`),
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
