import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { CcError, expectBoolean, expectInt, expectObject, expectString } from '#src/lib/index.js';
import { KBS_CONFIG_DEFAULTS } from './defaults.js';
import { KbsConfigError } from './errors.js';

/** The validated, frozen config of `kbs serve`. Relative paths are resolved against the file. */
export interface KbsConfig {
  readonly host: string;
  readonly port: number;
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
  readonly storeDir?: string | undefined;
  readonly adminPublicKey?: string | undefined;
  /** `[[admin.acl]]` rules (`role`, `allowed_endpoints`); none = every admin token may do everything. */
  readonly adminAcl?:
    readonly { readonly role: string; readonly allowedEndpoints: string }[] | undefined;
  readonly policiesDir?: string | undefined;
  readonly allowSample: boolean;
  readonly tdxCollateral?: string | undefined;
  /** AMD KDS CRLs: a DER/PEM CRL file or a folder of them. */
  readonly snpCrls?: string | undefined;
  readonly tokenTtlSeconds: number;
}

/** `HOST:PORT` with an IPv4/IPv6 literal or name; `[::1]:8080` for IPv6. */
export function parseListen(text: string, at: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535)
    throw new KbsConfigError(
      'invalid_argument',
      'ERR_KBS_CONFIG_INVALID',
      `${at}: expected HOST:PORT like 127.0.0.1:8080, got ${JSON.stringify(text)}`,
    );
  return { host: m[1] ?? m[2] ?? '', port };
}

function path(raw: unknown, at: string, base: string): string | undefined {
  if (raw === undefined) return undefined;
  const p = expectString(raw, at, { nonEmpty: true });
  return isAbsolute(p) ? p : resolve(base, p);
}

/** Validates a parsed TOML document (unknown keys are errors naming their path). */
export function parseKbsConfig(raw: unknown, baseDir: string): KbsConfig {
  try {
    const o = expectObject(raw, '', ['http', 'store', 'admin', 'attestation']);
    const http = expectObject(o['http'] ?? {}, 'http', ['listen', 'tls_cert', 'tls_key']);
    const store = expectObject(o['store'] ?? {}, 'store', ['dir']);
    const admin = expectObject(o['admin'] ?? {}, 'admin', ['public_key', 'acl']);
    const att = expectObject(o['attestation'] ?? {}, 'attestation', [
      'allow_sample',
      'policies_dir',
      'tdx_collateral',
      'snp_crls',
      'token_ttl_seconds',
    ]);
    const { host, port } = parseListen(
      expectString(http['listen'] ?? KBS_CONFIG_DEFAULTS.listen, 'http.listen'),
      'http.listen',
    );
    const tlsCert = path(http['tls_cert'], 'http.tls_cert', baseDir);
    const tlsKey = path(http['tls_key'], 'http.tls_key', baseDir);
    if ((tlsCert === undefined) !== (tlsKey === undefined))
      throw new KbsConfigError(
        'invalid_argument',
        'ERR_KBS_CONFIG_INVALID',
        'http.tls_cert and http.tls_key: set both or neither',
      );
    return Object.freeze({
      host,
      port,
      tlsCert,
      tlsKey,
      storeDir: path(store['dir'], 'store.dir', baseDir),
      adminPublicKey: path(admin['public_key'], 'admin.public_key', baseDir),
      adminAcl: parseAcl(admin['acl']),
      policiesDir: path(att['policies_dir'], 'attestation.policies_dir', baseDir),
      allowSample: expectBoolean(
        att['allow_sample'] ?? KBS_CONFIG_DEFAULTS.allowSample,
        'attestation.allow_sample',
      ),
      tdxCollateral: path(att['tdx_collateral'], 'attestation.tdx_collateral', baseDir),
      snpCrls: path(att['snp_crls'], 'attestation.snp_crls', baseDir),
      tokenTtlSeconds: expectInt(
        att['token_ttl_seconds'] ?? KBS_CONFIG_DEFAULTS.tokenTtlSeconds,
        'attestation.token_ttl_seconds',
        { min: 10, max: 86400 },
      ),
    });
  } catch (err) {
    if (err instanceof KbsConfigError || !(err instanceof CcError)) throw err;
    throw new KbsConfigError('invalid_argument', 'ERR_KBS_CONFIG_INVALID', err.message, {
      cause: err,
    });
  }
}

function parseAcl(raw: unknown): { role: string; allowedEndpoints: string }[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw))
    throw new KbsConfigError(
      'invalid_argument',
      'ERR_KBS_CONFIG_INVALID',
      'admin.acl: expected an array of tables ([[admin.acl]])',
    );
  return raw.map((r: unknown, i) => {
    const at = `admin.acl[${String(i)}]`;
    const o = expectObject(r, at, ['role', 'allowed_endpoints']);
    const allowed = expectString(o['allowed_endpoints'], `${at}.allowed_endpoints`, {
      nonEmpty: true,
    });
    if (!allowed.startsWith('^/kbs') || !allowed.endsWith('$'))
      throw new KbsConfigError(
        'invalid_argument',
        'ERR_KBS_CONFIG_INVALID',
        `${at}.allowed_endpoints: must be anchored (start with ^/kbs, end with $)`,
      );
    return {
      role: expectString(o['role'], `${at}.role`, { nonEmpty: true }),
      allowedEndpoints: allowed,
    };
  });
}

/** Reads and validates a TOML config file. */
export async function loadKbsConfig(file: string): Promise<KbsConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new KbsConfigError(
      'invalid_argument',
      'ERR_KBS_CONFIG_READ',
      `cannot read config ${file}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  let doc: unknown;
  try {
    doc = parseToml(text);
  } catch (err) {
    throw new KbsConfigError(
      'invalid_argument',
      'ERR_KBS_CONFIG_SYNTAX',
      `${file}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  try {
    return parseKbsConfig(doc, dirname(resolve(file)));
  } catch (err) {
    if (err instanceof KbsConfigError)
      throw new KbsConfigError(err.kind, err.code, `${file}: ${err.message}`, { cause: err });
    throw err;
  }
}
