/** The generator's settings (policies/agent/settings.json): the defaults of every policy. */
import { readFileSync } from 'node:fs';
import { describeError, isPlainObject, type JsonObject } from '#src/lib/index.js';
import { PolicyGenError } from './errors.js';

export interface PolicyMount {
  readonly destination: string;
  readonly source: string;
  readonly type_: string;
  readonly options: readonly string[];
}

export interface PolicySettings {
  readonly common: JsonObject;
  readonly pause_container: {
    readonly Args: readonly string[];
    readonly Env: readonly string[];
    readonly UID: number;
    readonly GID: number;
    readonly Cwd: string;
  };
  readonly namespaces: readonly string[];
  readonly masked_paths: readonly string[];
  readonly readonly_paths: readonly string[];
  readonly sysctls: Readonly<Record<string, string>>;
  readonly mounts: readonly PolicyMount[];
  readonly sandbox_mounts: readonly PolicyMount[];
  readonly container_mounts: readonly PolicyMount[];
  readonly service_account_mount: PolicyMount;
  readonly rootfs_storages: readonly JsonObject[];
  readonly sandbox: JsonObject;
  readonly request_defaults: JsonObject;
}

const REQUIRED: readonly (keyof PolicySettings)[] = [
  'common',
  'pause_container',
  'namespaces',
  'masked_paths',
  'readonly_paths',
  'sysctls',
  'mounts',
  'sandbox_mounts',
  'container_mounts',
  'service_account_mount',
  'rootfs_storages',
  'sandbox',
  'request_defaults',
];

function settingsError(file: string, message: string, cause?: unknown): PolicyGenError {
  return new PolicyGenError(
    'invalid_argument',
    'ERR_POLICYGEN_SETTINGS',
    `${file}: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/** Parses and checks the settings document (every top-level key present with its JSON type). */
export function parseSettings(text: string, file: string): PolicySettings {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw settingsError(file, `not JSON: ${describeError(err)}`, err);
  }
  if (!isPlainObject(raw)) throw settingsError(file, 'expected an object');
  for (const key of REQUIRED) {
    const v = raw[key];
    const isList = ['namespaces', 'masked_paths', 'readonly_paths', 'mounts'].includes(key);
    if (isList ? !Array.isArray(v) : v === undefined)
      throw settingsError(file, `${key}: missing or of the wrong type`);
  }
  const common = raw['common'];
  if (!isPlainObject(common) || !Array.isArray(common['default_caps']))
    throw settingsError(file, 'common.default_caps: expected a list');
  return raw as unknown as PolicySettings;
}

export function loadSettings(file: string): PolicySettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw settingsError(file, `cannot read: ${describeError(err)}`, err);
  }
  return parseSettings(text, file);
}
