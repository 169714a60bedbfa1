import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { envString, isPlainObject, isSystemError, type Env } from '#src/lib/index.js';
import { ConfigError } from './errors.js';
import { HOST_CONFIG_SCHEMA, type FieldSpec } from './schema.js';
import type { HostConfig, LoadedHostConfig } from './host-config.js';

export const DEFAULT_CONFIG_PATH = '/etc/kata-cc/config.toml';
export const CONFIG_ENV_VAR = 'KATA_CC_CONFIG';

/** A layer of configuration values: a parsed file, a flag set, or the shim's runtime options. */
export interface ConfigLayer {
  readonly source: string;
  readonly values: unknown;
}

export interface LoadHostConfigOptions {
  /** Explicit config file (flag or runtime options ConfigPath); must exist. */
  readonly path?: string | undefined;
  readonly env?: Env | undefined;
  /** Applied after the files, in order (e.g. `--set` flags, runtime options). */
  readonly overrides?: readonly ConfigLayer[] | undefined;
}

type Schema = Readonly<Record<string, Readonly<Record<string, FieldSpec>>>>;
const SCHEMA: Schema = HOST_CONFIG_SCHEMA;

function readToml(path: string, required: boolean): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (!required && isSystemError(err, 'ENOENT')) return undefined;
    const kind = isSystemError(err, 'ENOENT') ? 'not_found' : 'internal';
    throw new ConfigError(
      kind,
      'ERR_CONFIG_READ',
      `cannot read config file ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  try {
    return parseToml(text);
  } catch (err) {
    const where = err instanceof TomlError ? `:${err.line}:${err.column}` : '';
    const what = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ConfigError(
      'invalid_argument',
      'ERR_CONFIG_SYNTAX',
      `${path}${where}: invalid TOML: ${what}`,
      {
        cause: err,
      },
    );
  }
}

function dropInFiles(mainPath: string): string[] {
  const dir = join(dirname(mainPath), 'config.d');
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith('.toml'))
      .sort()
      .map((n) => join(dir, n));
  } catch (err) {
    if (isSystemError(err, 'ENOENT') || isSystemError(err, 'ENOTDIR')) return [];
    throw new ConfigError(
      'internal',
      'ERR_CONFIG_READ',
      `cannot list ${dir}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function bad(source: string, key: string, expected: string, got: unknown): ConfigError {
  const shown =
    typeof got === 'string'
      ? JSON.stringify(got)
      : Array.isArray(got)
        ? 'an array'
        : typeof got === 'object' && got !== null
          ? 'a table'
          : JSON.stringify(got);
  return new ConfigError(
    'invalid_argument',
    'ERR_CONFIG_INVALID',
    `${source}: ${key}: expected ${expected}, got ${shown}`,
  );
}

function checkValue(spec: FieldSpec, raw: unknown, source: string, key: string): unknown {
  switch (spec.type) {
    case 'string':
      if (typeof raw !== 'string') throw bad(source, key, 'a string', raw);
      return raw;
    case 'bool':
      if (typeof raw !== 'boolean') throw bad(source, key, 'true or false', raw);
      return raw;
    case 'int': {
      const n = typeof raw === 'bigint' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < spec.min || n > spec.max) {
        throw bad(source, key, `an integer ${spec.min}..${spec.max}`, raw);
      }
      return n;
    }
    case 'enum':
      if (typeof raw !== 'string' || !spec.values.includes(raw)) {
        throw bad(
          source,
          key,
          `one of ${spec.values.map((v) => JSON.stringify(v)).join(', ')}`,
          raw,
        );
      }
      return raw;
    case 'string[]':
      if (!Array.isArray(raw) || !raw.every((v) => typeof v === 'string'))
        throw bad(source, key, 'an array of strings', raw);
      return Object.freeze([...(raw)]);
  }
}

/** Validates one layer against the schema; unknown sections and keys are errors naming the source. */
function applyLayer(
  layer: ConfigLayer,
  values: Map<string, unknown>,
  sources: Map<string, string>,
): void {
  if (layer.values === undefined) return;
  if (!isPlainObject(layer.values)) throw bad(layer.source, '(top level)', 'a table', layer.values);
  for (const [section, table] of Object.entries(layer.values)) {
    const sectionSpec = SCHEMA[section];
    if (!sectionSpec) {
      throw new ConfigError(
        'invalid_argument',
        'ERR_CONFIG_INVALID',
        `${layer.source}: ${section}: unknown section (known: ${Object.keys(SCHEMA).join(', ')})`,
      );
    }
    if (!isPlainObject(table)) throw bad(layer.source, section, 'a table', table);
    for (const [key, raw] of Object.entries(table)) {
      const spec = sectionSpec[key];
      const path = `${section}.${key}`;
      if (!spec) {
        throw new ConfigError(
          'invalid_argument',
          'ERR_CONFIG_INVALID',
          `${layer.source}: ${path}: unknown key (known: ${Object.keys(sectionSpec).join(', ')})`,
        );
      }
      values.set(path, checkValue(spec, raw, layer.source, path));
      sources.set(path, layer.source);
    }
  }
}

/**
 * load → merge drop-ins (`config.d/*.toml` beside the main file, in name order) → overrides →
 * defaults → validate → freeze. The main file is `path`, else `$KATA_CC_CONFIG`, else
 * /etc/kata-cc/config.toml (which may be absent: defaults apply).
 */
export function loadHostConfig(options: LoadHostConfigOptions = {}): LoadedHostConfig {
  const fromEnv = options.env ? envString(options.env, CONFIG_ENV_VAR) : undefined;
  const mainPath = options.path ?? fromEnv ?? DEFAULT_CONFIG_PATH;
  const required = options.path !== undefined || fromEnv !== undefined;
  const layers: ConfigLayer[] = [];
  const files: string[] = [];
  const main = readToml(mainPath, required);
  if (main !== undefined) {
    layers.push({ source: mainPath, values: main });
    files.push(mainPath);
  }
  for (const f of dropInFiles(mainPath)) {
    layers.push({ source: f, values: readToml(f, true) });
    files.push(f);
  }
  layers.push(...(options.overrides ?? []));
  const values = new Map<string, unknown>();
  const sources = new Map<string, string>();
  for (const layer of layers) applyLayer(layer, values, sources);
  const config: Record<string, Record<string, unknown>> = {};
  const allSources: Record<string, string> = {};
  for (const [section, spec] of Object.entries(SCHEMA)) {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(spec)) {
      const path = `${section}.${key}`;
      out[key] = values.has(path) ? values.get(path) : field.default;
      allSources[path] = sources.get(path) ?? 'default';
    }
    config[section] = Object.freeze(out);
  }
  return Object.freeze({
    config: Object.freeze(config) as unknown as HostConfig,
    sources: Object.freeze(allSources),
    files: Object.freeze(files),
  });
}

/** Parses `section.key=value` flags (value as TOML) into an override layer. */
export function parseSetFlags(flags: readonly string[], source = 'flag'): ConfigLayer {
  const values: Record<string, Record<string, unknown>> = {};
  for (const flag of flags) {
    const m = /^([a-z_]+)\.([a-z_]+)=(.*)$/s.exec(flag);
    if (!m)
      throw new ConfigError(
        'invalid_argument',
        'ERR_CONFIG_INVALID',
        `${source}: ${JSON.stringify(flag)}: expected section.key=value`,
      );
    const [, section = '', key = '', text = ''] = m;
    let value: unknown;
    try {
      value = (parseToml(`v = ${text}`) as { v: unknown }).v;
    } catch {
      value = text; // a bare word is a string
    }
    (values[section] ??= {})[key] = value;
  }
  return { source, values };
}
