import { parse as parseToml } from 'smol-toml';
import { expectObject, expectString, isPlainObject } from '#src/lib/index.js';
import { CdhError } from './errors.js';

/** What the guest components take from initdata's `cdh.toml` (upstream CDH config keys). */
export interface CdhConfig {
  /** `socket`: `unix:///run/confidential-containers/cdh.sock` or a path. */
  readonly socket: string | undefined;
  /** `[kbc] url`: the KBS. */
  readonly kbsUrl: string | undefined;
  /** `[kbc] kbs_cert`: PEM CA for an https KBS. */
  readonly kbsCert: string | undefined;
  /** `[kbc] name` (`cc_kbc` is the only one this CDH speaks). */
  readonly kbcName: string | undefined;
  /** `[image] ...` and other sections are kept for the image puller, unparsed. */
  readonly extra: Readonly<Record<string, unknown>>;
}

/** Parses `cdh.toml`; unknown `[kbc]` keys are errors, other sections are passed through. */
export function parseCdhConfig(text: string, at = 'cdh.toml'): CdhConfig {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (err) {
    throw new CdhError(
      'invalid_argument',
      'ERR_CDH_CONFIG',
      `${at}: not valid TOML: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  try {
    const o = expectObject(raw, at, ['socket', 'kbc', 'image', 'credentials']);
    const kbcRaw = o['kbc'] ?? {};
    const kbc = expectObject(kbcRaw, `${at}.kbc`, ['name', 'url', 'kbs_cert']);
    const opt = (v: unknown, path: string): string | undefined =>
      v === undefined ? undefined : expectString(v, path);
    const name = opt(kbc['name'], `${at}.kbc.name`);
    if (name !== undefined && name !== 'cc_kbc')
      throw new CdhError(
        'invalid_argument',
        'ERR_CDH_CONFIG',
        `${at}.kbc.name: only "cc_kbc" is supported, got ${JSON.stringify(name)}`,
      );
    const extra: Record<string, unknown> = {};
    for (const k of ['image', 'credentials'])
      if (isPlainObject(o[k]) || Array.isArray(o[k])) extra[k] = o[k];
    return Object.freeze({
      socket: opt(o['socket'], `${at}.socket`),
      kbsUrl: opt(kbc['url'], `${at}.kbc.url`),
      kbsCert: opt(kbc['kbs_cert'], `${at}.kbc.kbs_cert`),
      kbcName: name,
      extra,
    });
  } catch (err) {
    if (err instanceof CdhError) throw err;
    throw new CdhError(
      'invalid_argument',
      'ERR_CDH_CONFIG',
      err instanceof Error ? err.message : String(err),
      { cause: err },
    );
  }
}

/** `unix:///path` or `/path` → the path. */
export function socketPath(address: string): string {
  return address.startsWith('unix://') ? address.slice('unix://'.length) : address;
}
