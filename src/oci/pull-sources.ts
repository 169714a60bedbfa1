import { OciError } from './errors.js';
import {
  DOCKER_HUB,
  formatImageReference,
  parseImageReference,
  type ImageReference,
} from './reference.js';
import type { RegistriesConfig, RegistryRule } from './registries-conf.js';

/** One place to fetch an image from: a mirror or the (possibly remapped) registry itself. */
export interface PullSource {
  /** The physical reference there (registry and repository rewritten, tag/digest kept). */
  readonly reference: ImageReference;
  /** Plain HTTP (`insecure = true` on the mirror or registry table). */
  readonly insecure: boolean;
  readonly mirror: boolean;
}

/** Where `prefix` matches the start of the name `s` (containers-registries.conf rules), or -1. */
function matchLength(s: string, ref: ImageReference, prefix: string): number {
  if (prefix.startsWith('*.')) {
    const hostname = ref.registry.replace(/:[0-9]+$/, '');
    return hostname.endsWith(prefix.slice(1)) ? ref.registry.length : -1;
  }
  if (!s.startsWith(prefix)) return -1;
  if (s.length === prefix.length) return prefix.length;
  const next = s[prefix.length];
  // a ':' after a bare host would be a port, not a tag: `example.com` must not match `example.com:5000`
  if (next === '/' || next === '@' || (next === ':' && prefix.includes('/'))) return prefix.length;
  return -1;
}

/** The `[[registry]]` table with the longest matching prefix, and the matched length. */
export function findRegistryRule(
  config: RegistriesConfig,
  ref: ImageReference,
): { rule: RegistryRule; length: number } | undefined {
  const s = formatImageReference(ref);
  let best: { rule: RegistryRule; length: number } | undefined;
  for (const rule of config.registries) {
    const length = matchLength(s, ref, rule.prefix);
    if (length >= 0 && (best === undefined || length > best.length)) best = { rule, length };
  }
  return best;
}

function rewrite(config: RegistriesConfig, location: string, rest: string): ImageReference {
  try {
    return parseImageReference(`${location}${rest}`);
  } catch (err) {
    throw new OciError(
      'invalid_argument',
      'ERR_OCI_REGISTRIES_CONF',
      `${config.source}: location ${JSON.stringify(location)} rewrites the image to an invalid name: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

/**
 * The sources of `ref` in the order they are tried: the matching table's mirrors (filtered by
 * `mirror-by-digest-only` / `pull-from-mirror`), then its location (or `ref` itself). A blocked
 * prefix is `permission_denied` `ERR_OCI_BLOCKED`.
 */
export function pullSourcesOf(config: RegistriesConfig, ref: ImageReference): PullSource[] {
  const found = findRegistryRule(config, ref);
  if (found === undefined) return [{ reference: ref, insecure: false, mirror: false }];
  const { rule, length } = found;
  const s = formatImageReference(ref);
  if (rule.blocked)
    throw new OciError(
      'permission_denied',
      'ERR_OCI_BLOCKED',
      `pulling ${s} is blocked by the registry configuration ${config.source} ([[registry]] prefix ${JSON.stringify(rule.prefix)} has blocked = true)`,
    );
  const digested = ref.digest !== undefined;
  const rest = s.slice(length);
  const mirrors = rule.mirrors.filter((m) =>
    rule.mirrorByDigestOnly
      ? digested
      : m.pullFromMirror === 'all' || (m.pullFromMirror === 'digest-only') === digested,
  );
  return [
    ...mirrors.map((m) => ({
      reference: rewrite(config, m.location, rest),
      insecure: m.insecure,
      mirror: true,
    })),
    {
      reference: rule.location === '' ? ref : rewrite(config, rule.location, rest),
      insecure: rule.insecure,
      mirror: false,
    },
  ];
}

/**
 * The fully-qualified names a short name (`busybox`, `team/app:1`; see `shortNameOf`) stands
 * for, in order: its `[aliases]` entry alone, else one per `unqualified-search-registries` entry
 * (none configured: Docker Hub, the normalized `ref`).
 */
export function shortNameCandidates(
  config: RegistriesConfig,
  name: string,
  ref: ImageReference,
): ImageReference[] {
  const suffix = `${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
  const alias = Object.hasOwn(config.aliases, name) ? config.aliases[name] : undefined;
  if (alias !== undefined) return [rewrite(config, alias, suffix)];
  if (config.unqualifiedSearchRegistries.length === 0) return [ref];
  return config.unqualifiedSearchRegistries.map((r) =>
    r === DOCKER_HUB ? ref : rewrite(config, `${r}/`, `${name}${suffix}`),
  );
}
