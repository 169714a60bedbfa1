import { parse as parseToml } from 'smol-toml';
import { isPlainObject, type JsonObject } from '#src/lib/index.js';
import { OciError } from './errors.js';
import { parseImageReference } from './reference.js';

/** containers-registries.conf(5) v2 `pull-from-mirror`. */
export type PullFromMirror = 'all' | 'digest-only' | 'tag-only';

export interface RegistryMirrorRule {
  /** `host[:port][/namespace…]`, no scheme. */
  readonly location: string;
  /** Plain HTTP to this mirror. */
  readonly insecure: boolean;
  readonly pullFromMirror: PullFromMirror;
}

/** One `[[registry]]` table. */
export interface RegistryRule {
  /** What it matches: `host[:port][/ns…][/repo][:tag|@digest]` or `*.domain`. */
  readonly prefix: string;
  /** Where the prefix-rooted namespace really lives; `''` only for a `*.domain` prefix (no rewrite). */
  readonly location: string;
  readonly insecure: boolean;
  readonly blocked: boolean;
  readonly mirrorByDigestOnly: boolean;
  readonly mirrors: readonly RegistryMirrorRule[];
}

/** A parsed containers-registries.conf v2 document. */
export interface RegistriesConfig {
  /** Where it came from, for messages (`kbs:///default/registry-configuration/test`). */
  readonly source: string;
  /** `host[:port]` tried in order for a short name; empty: Docker Hub. */
  readonly unqualifiedSearchRegistries: readonly string[];
  readonly registries: readonly RegistryRule[];
  /** `[aliases]`: short name → fully-qualified name without tag or digest. */
  readonly aliases: Readonly<Record<string, string>>;
  /** Known v2 keys that mean nothing in the guest (credential helpers, short-name mode …). */
  readonly ignoredKeys: readonly string[];
}

const TOP_KEYS = ['unqualified-search-registries', 'registry', 'aliases'];
/** Accepted and ignored: there are no helpers to run, no terminal to prompt, no layer store. */
const IGNORED_TOP_KEYS = [
  'credential-helpers',
  'short-name-mode',
  'additional-layer-store-auth-helper',
];
const REGISTRY_KEYS = [
  'prefix',
  'location',
  'insecure',
  'blocked',
  'mirror',
  'mirror-by-digest-only',
];
const MIRROR_KEYS = ['location', 'insecure', 'pull-from-mirror'];
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;
const WILDCARD =
  /^\*\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/;

function bad(message: string): OciError {
  return new OciError('invalid_argument', 'ERR_OCI_REGISTRIES_CONF', message);
}

/** Line numbers of the `[[registry]]` and `[[registry.mirror]]` headers, for messages. */
function headerLines(text: string): { registry: number[]; mirror: number[][] } {
  const registry: number[] = [];
  const mirror: number[][] = [];
  text.split('\n').forEach((line, i) => {
    if (/^\s*\[\[\s*registry\s*\]\]/.test(line)) {
      registry.push(i + 1);
      mirror.push([]);
    } else if (/^\s*\[\[\s*registry\s*\.\s*mirror\s*\]\]/.test(line)) mirror.at(-1)?.push(i + 1);
  });
  return { registry, mirror };
}

interface Where {
  readonly source: string;
  readonly lines: { registry: number[]; mirror: number[][] };
}

function checkKeys(o: JsonObject, allowed: readonly string[], at: string): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k))
      throw bad(`${at}: unknown key ${JSON.stringify(k)} (known: ${allowed.join(', ')})`);
}

function bool(v: unknown, at: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw bad(`${at}: expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** A `prefix`/`location` value: trailing slashes dropped, no URI scheme, a parsable name. */
function locationOf(v: unknown, at: string, wildcardOk: boolean): string {
  if (v === undefined) return '';
  if (typeof v !== 'string') throw bad(`${at}: expected a string, got ${JSON.stringify(v)}`);
  const s = v.replace(/\/+$/, '');
  if (s === '') return '';
  if (/^[a-z]+:\/\//i.test(s))
    throw bad(
      `${at}: ${JSON.stringify(v)}: URI schemes are not allowed (write host[:port][/path])`,
    );
  if (s.startsWith('*.')) {
    if (!wildcardOk || !WILDCARD.test(s))
      throw bad(
        `${at}: ${JSON.stringify(v)}: a wildcard is only allowed as a whole prefix "*.example.com"`,
      );
    return s;
  }
  const host = s.split('/')[0] ?? '';
  if (!isRegistryHost(host))
    throw bad(
      `${at}: ${JSON.stringify(v)} is not host[:port][/namespace…] (the host needs a dot, a port or to be localhost)`,
    );
  if (s.includes('/')) {
    try {
      // tag and digest forms are allowed (prefix); the name must parse as a qualified one
      parseImageReference(s.includes('@') || /:[^/]*$/.test(s) ? s : `${s}:x`);
    } catch (err) {
      throw bad(`${at}: ${JSON.stringify(v)}: ${err instanceof Error ? err.message : ''}`);
    }
  }
  return s;
}

function mirrorOf(raw: unknown, at: string, digestOnly: boolean): RegistryMirrorRule {
  if (!isPlainObject(raw)) throw bad(`${at}: expected a table`);
  checkKeys(raw, MIRROR_KEYS, at);
  const location = locationOf(raw['location'], `${at}.location`, false);
  if (location === '') throw bad(`${at}.location: a mirror needs a location`);
  const pfm = raw['pull-from-mirror'];
  if (pfm !== undefined && !['all', 'digest-only', 'tag-only', ''].includes(pfm as string))
    throw bad(`${at}.pull-from-mirror: expected "all", "digest-only" or "tag-only"`);
  if (digestOnly && pfm !== undefined && pfm !== '')
    throw bad(
      `${at}.pull-from-mirror: cannot be combined with the registry's mirror-by-digest-only`,
    );
  return {
    location,
    insecure: bool(raw['insecure'], `${at}.insecure`),
    pullFromMirror: pfm === undefined || pfm === '' ? 'all' : (pfm as PullFromMirror),
  };
}

function registryOf(raw: unknown, i: number, w: Where): RegistryRule {
  const line = w.lines.registry[i];
  const at = `${w.source}: registry[${String(i)}]${line === undefined ? '' : ` (line ${String(line)})`}`;
  if (!isPlainObject(raw)) throw bad(`${at}: expected a table`);
  checkKeys(raw, REGISTRY_KEYS, at);
  let location = locationOf(raw['location'], `${at}.location`, false);
  let prefix = locationOf(raw['prefix'], `${at}.prefix`, true);
  if (prefix === '') {
    if (location === '') throw bad(`${at}: needs a prefix or a location`);
    prefix = location;
  }
  // as image-rs (CoCo's own configs write `prefix` alone, e.g. for a blocked namespace); only a
  // wildcard keeps no location: its matches are pulled from where they are named
  if (location === '' && !prefix.startsWith('*.')) location = prefix;
  const digestOnly = bool(raw['mirror-by-digest-only'], `${at}.mirror-by-digest-only`);
  const mirrorsRaw = raw['mirror'] ?? [];
  if (!Array.isArray(mirrorsRaw)) throw bad(`${at}.mirror: expected [[registry.mirror]] tables`);
  const mirrors = mirrorsRaw.map((m, j) => {
    const ml = w.lines.mirror[i]?.[j];
    return mirrorOf(
      m,
      `${at}.mirror[${String(j)}]${ml === undefined ? '' : ` (line ${String(ml)})`}`,
      digestOnly,
    );
  });
  return {
    prefix,
    location,
    insecure: bool(raw['insecure'], `${at}.insecure`),
    blocked: bool(raw['blocked'], `${at}.blocked`),
    mirrorByDigestOnly: digestOnly,
    mirrors,
  };
}

function searchRegistriesOf(v: unknown, at: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw bad(`${at}: expected an array of host[:port]`);
  return v.map((h, i) => {
    if (typeof h !== 'string' || !DOMAIN.test(h.replace(/\/+$/, '')))
      throw bad(`${at}[${String(i)}]: ${JSON.stringify(h)} is not a registry host[:port]`);
    return h.replace(/\/+$/, '');
  });
}

function aliasesOf(v: unknown, at: string): Record<string, string> {
  if (v === undefined) return {};
  if (!isPlainObject(v)) throw bad(`${at}: expected a table of "short-name" = "registry/name"`);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(v)) {
    if (typeof value !== 'string') throw bad(`${at}.${name}: expected a string`);
    if (value === '') continue;
    if (name.includes('@') || /:[^/]*$/.test(name) || isQualified(name))
      throw bad(`${at}: ${JSON.stringify(name)} must be a short name without tag or digest`);
    if (value.includes('@') || /:[^/]*$/.test(value) || !isQualified(value))
      throw bad(
        `${at}.${name}: ${JSON.stringify(value)} must be registry/name without tag or digest`,
      );
    out[name] = locationOf(value, `${at}.${name}`, false);
  }
  return out;
}

/** A registry host as image names spell it: with a dot or a port, `localhost`, or `[v6]`. */
function isRegistryHost(host: string): boolean {
  return (
    DOMAIN.test(host) &&
    (host.includes('.') || host.includes(':') || host === 'localhost' || host.startsWith('['))
  );
}

function isQualified(name: string): boolean {
  return name.includes('/') && isRegistryHost(name.split('/')[0] ?? '');
}

/**
 * Validates a decoded containers-registries.conf v2 document. Unknown keys are errors; a bad
 * value names the table, its line (when `text` is given) and the key.
 */
export function registriesConfigFromObject(
  doc: unknown,
  source: string,
  text = '',
): RegistriesConfig {
  if (!isPlainObject(doc)) throw bad(`${source}: expected a TOML document`);
  if (isPlainObject(doc['registries']))
    throw bad(
      `${source}: the version 1 format ([registries.search] …) is not supported; use [[registry]] tables`,
    );
  checkKeys(doc, [...TOP_KEYS, ...IGNORED_TOP_KEYS], source);
  const w: Where = { source, lines: headerLines(text) };
  const list = doc['registry'] ?? [];
  if (!Array.isArray(list)) throw bad(`${source}: registry: expected [[registry]] tables`);
  const registries = list.map((r, i) => registryOf(r, i, w));
  const seen = new Map<string, number>();
  for (const [i, r] of registries.entries()) {
    const prev = seen.get(r.prefix);
    if (prev !== undefined)
      throw bad(
        `${source}: registry[${String(i)}]: prefix ${JSON.stringify(r.prefix)} is already used by registry[${String(prev)}]`,
      );
    seen.set(r.prefix, i);
  }
  return Object.freeze({
    source,
    unqualifiedSearchRegistries: searchRegistriesOf(
      doc['unqualified-search-registries'],
      `${source}: unqualified-search-registries`,
    ),
    registries,
    aliases: aliasesOf(doc['aliases'], `${source}: aliases`),
    ignoredKeys: Object.keys(doc).filter((k) => IGNORED_TOP_KEYS.includes(k)),
  });
}

/** Parses containers-registries.conf v2 TOML text (see `registriesConfigFromObject`). */
export function parseRegistriesConf(text: string, source = 'registries.conf'): RegistriesConfig {
  let doc: unknown;
  try {
    doc = parseToml(text);
  } catch (err) {
    throw bad(`${source}: not valid TOML: ${err instanceof Error ? err.message : String(err)}`);
  }
  return registriesConfigFromObject(doc, source, text);
}
