import { OciError } from '../errors.js';
import type { RawXattrs } from './pax-xattrs.js';

/** Sets one extended attribute on `path` itself, never following a final symlink (lsetxattr). */
export type SetXattr = (path: string, name: string, value: Uint8Array) => void;

/** An attribute recorded in the layer but not set, with why. */
export interface SkippedXattr {
  readonly path: string;
  readonly name: string;
  readonly reason: string;
}

/** errnos that mean "this target cannot hold this attribute": recorded, the layer goes on. */
const SKIPPABLE = new Set([
  'EOPNOTSUPP',
  'ENOTSUP',
  'EPERM',
  'EACCES',
  'E2BIG',
  'ERANGE',
  'EINVAL',
]);

/** Why `name` is not applied by policy, or undefined when it may be. */
export function xattrPolicy(name: string, isRoot: boolean): string | undefined {
  if (name.startsWith('user.')) return undefined;
  if (name.startsWith('trusted.')) return isRoot ? undefined : 'trusted.* needs root';
  if (name === 'security.capability') return undefined;
  if (name.startsWith('system.')) return 'system.* (POSIX ACLs) is not applied';
  return 'not in the applied set (user.*, trusted.*, security.capability)';
}

function errnoOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { errnoCode?: unknown; code?: unknown };
  if (typeof e.errnoCode === 'string') return e.errnoCode;
  return typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code) ? e.code : undefined;
}

/**
 * Applies the raw PAX xattrs of the entry at `path` (rootfs-relative `rel`) after it was written
 * (and chowned: a chown clears security.capability). Without `set`, every attribute is recorded
 * as not applied. Returns how many were set.
 */
export function applyXattrs(
  path: string,
  rel: string,
  xattrs: RawXattrs,
  opts: { set?: SetXattr | undefined; isRoot: boolean; layer: string; skipped: SkippedXattr[] },
): number {
  let applied = 0;
  for (const [name, value] of xattrs) {
    const refused = opts.set ? xattrPolicy(name, opts.isRoot) : 'no setxattr in this unpacker';
    if (refused !== undefined || !opts.set) {
      opts.skipped.push({ path: rel, name, reason: refused ?? 'no setxattr' });
      continue;
    }
    try {
      opts.set(path, name, value);
      applied++;
    } catch (err) {
      const errno = errnoOf(err);
      if (errno === 'ENOSPC' || errno === 'EDQUOT')
        throw new OciError(
          'resource_exhausted',
          'ERR_OCI_NO_SPACE',
          `the image does not fit: no space left for xattr ${name} on ${JSON.stringify(rel)} in layer ${opts.layer}`,
          { cause: err },
        );
      if (errno === undefined || !SKIPPABLE.has(errno))
        throw new OciError(
          'internal',
          'ERR_OCI_UNPACK',
          `cannot set xattr ${name} on ${JSON.stringify(rel)} in layer ${opts.layer}: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      opts.skipped.push({ path: rel, name, reason: `the target refused it (${errno})` });
    }
  }
  return applied;
}
