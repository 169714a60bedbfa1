import { lutimes } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { isSystemError, NULL_LOGGER, throwIfAborted, type Logger } from '#src/lib/index.js';
import { OciError } from '../errors.js';
import { applyEntry, type EntryBody, type EntryContext, type Headers } from './apply-entry.js';
import { applyXattrs, type SetXattr, type SkippedXattr } from './apply-xattrs.js';
import { entryComponents, RootfsResolver, unsafeEntry } from './entry-path.js';
import { PaxXattrTap, type RawXattrs } from './pax-xattrs.js';
import { applyOpaque, applyWhiteout, OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from './whiteout.js';

export interface UnpackOptions {
  /** Names the layer in errors (its digest). */
  readonly layer?: string | undefined;
  /** lchown to the archive's owners; default: when running as root. */
  readonly preserveOwnership?: boolean | undefined;
  /** Device nodes and FIFOs (node:fs cannot mknod): skip them (default) or fail the layer. */
  readonly devices?: 'skip' | 'reject' | undefined;
  /** Refuse archives with more entries than this (default 1,000,000). */
  readonly maxEntries?: number | undefined;
  /**
   * Sets PAX `SCHILY.xattr.*` attributes (raw bytes) on an entry, never following a symlink
   * (`lsetxattr`; src/oci cannot load the native addon, so the caller injects it). Absent: every
   * attribute is recorded in `xattrs` as not applied.
   */
  readonly setXattr?: SetXattr | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly log?: Logger | undefined;
}

export interface UnpackResult {
  readonly entries: number;
  readonly bytes: number;
  /** Entries not materialized (device nodes, FIFOs), rootfs-relative. */
  readonly skipped: readonly string[];
  /** PAX `SCHILY.xattr.*` attributes recorded but not applied, with why. */
  readonly xattrs: readonly SkippedXattr[];
  /** Attributes set through `setXattr`. */
  readonly xattrsApplied: number;
}

interface LayerState {
  readonly ctx: EntryContext;
  readonly created: Set<string>;
  readonly dirs: { path: string; mtime: Date }[];
  readonly skipped: string[];
  readonly xattrs: SkippedXattr[];
  readonly setXattr: SetXattr | undefined;
  readonly tap: PaxXattrTap;
  xattrsApplied: number;
  entries: number;
  bytes: number;
}

function addCreated(created: Set<string>, parts: readonly string[]): void {
  for (let i = 1; i <= parts.length; i++) created.add(parts.slice(0, i).join('/'));
}

/** The raw xattrs the tap saw for this entry, checked against what tar-stream decoded. */
function rawXattrsOf(h: Headers, st: LayerState): RawXattrs | undefined {
  let raw: RawXattrs | undefined;
  try {
    raw = st.tap.next();
  } catch (err) {
    throw unsafeEntry(st.ctx.layer, h.name, err instanceof Error ? err.message : String(err));
  }
  const pax = (h.pax ?? {}) as Record<string, string>;
  const names = Object.keys(pax).filter((k) => k.startsWith('SCHILY.xattr.'));
  const agree =
    names.length === (raw?.size ?? 0) &&
    names.every((k) => {
      const v = raw?.get(k.slice('SCHILY.xattr.'.length));
      return v !== undefined && Buffer.from(v).toString('utf8') === pax[k];
    });
  if (!agree) throw unsafeEntry(st.ctx.layer, h.name, 'its PAX xattr records could not be read');
  return raw;
}

async function handleEntry(h: Headers, body: EntryBody, st: LayerState): Promise<void> {
  const raw = rawXattrsOf(h, st);
  const parts = entryComponents(h.name, st.ctx.layer);
  const base = parts[parts.length - 1] ?? '';
  const rel = parts.join('/');
  if (base === OPAQUE_WHITEOUT) {
    await applyOpaque(st.ctx.resolver, parts.slice(0, -1), h.name, st.created);
    return;
  }
  if (base.startsWith(WHITEOUT_PREFIX)) {
    const victim = base.slice(WHITEOUT_PREFIX.length);
    if (victim === '' || victim === '.' || victim === '..') {
      throw unsafeEntry(st.ctx.layer, h.name, 'a whiteout must name an entry');
    }
    await applyWhiteout(
      st.ctx.resolver,
      [...parts.slice(0, -1), base.slice(WHITEOUT_PREFIX.length)],
      h.name,
    );
    return;
  }
  const outcome = await applyEntry(h, parts, body, st.ctx);
  if (outcome === 'skipped') {
    if (h.type !== 'pax-header' && h.type !== 'pax-global-header') st.skipped.push(rel);
    return;
  }
  addCreated(st.created, parts);
  st.bytes += h.size ?? 0;
  if (h.type === 'directory')
    st.dirs.push({
      path: await st.ctx.resolver.resolve(parts, h.name),
      mtime: h.mtime ?? new Date(0),
    });
  if (raw && raw.size > 0)
    st.xattrsApplied += applyXattrs(await st.ctx.resolver.resolve(parts, h.name), rel, raw, {
      set: st.setXattr,
      isRoot: process.getuid?.() === 0,
      layer: st.ctx.layer,
      skipped: st.xattrs,
    });
}

function classify(err: unknown, layer: string): Error {
  if (err instanceof OciError) return err;
  if (isSystemError(err, 'ENOSPC') || isSystemError(err, 'EDQUOT')) {
    return new OciError(
      'resource_exhausted',
      'ERR_OCI_NO_SPACE',
      `the image does not fit: no space left while unpacking layer ${layer}`,
      { cause: err },
    );
  }
  if (err instanceof Error && 'kind' in err) return err;
  const text = err instanceof Error ? err.message : String(err);
  return new OciError('internal', 'ERR_OCI_UNPACK', `cannot unpack layer ${layer}: ${text}`, {
    cause: err,
  });
}

/**
 * Unpacks one layer tar (already decompressed) onto `rootfsDir`: whiteouts, opaque directories,
 * hard and symbolic links, modes, owners, mtimes. Nothing is ever written outside the rootfs:
 * `..` names are refused, no symlink is ever followed, hard links must point inside.
 */
export async function unpackLayer(
  tar: Readable,
  rootfsDir: string,
  opts: UnpackOptions = {},
): Promise<UnpackResult> {
  const layer = opts.layer ?? 'layer';
  const log = opts.log ?? NULL_LOGGER;
  const maxEntries = opts.maxEntries ?? 1_000_000;
  const st: LayerState = {
    ctx: {
      resolver: new RootfsResolver(rootfsDir, layer),
      layer,
      preserveOwnership: opts.preserveOwnership ?? process.getuid?.() === 0,
      devices: opts.devices ?? 'skip',
      signal: opts.signal,
    },
    created: new Set(),
    dirs: [],
    skipped: [],
    xattrs: [],
    setXattr: opts.setXattr,
    tap: new PaxXattrTap(),
    xattrsApplied: 0,
    entries: 0,
    bytes: 0,
  };
  const ex = extract();
  const feeding = pipeline(tar, st.tap, ex, opts.signal ? { signal: opts.signal } : {});
  feeding.catch(() => undefined);
  try {
    for await (const entry of ex) {
      throwIfAborted(opts.signal, `unpacking ${layer}`);
      if (++st.entries > maxEntries)
        throw new OciError(
          'resource_exhausted',
          'ERR_OCI_UNPACK',
          `layer ${layer} has more than ${String(maxEntries)} entries`,
        );
      await handleEntry(entry.header, entry as unknown as EntryBody, st);
      entry.resume();
    }
    await feeding;
    for (const d of st.dirs.reverse()) await lutimes(d.path, d.mtime, d.mtime);
  } catch (err) {
    ex.destroy();
    tar.destroy();
    const failure = await feeding.then(
      () => err,
      // the loop's own error explains the failure unless it only echoes the feeding side
      (feedErr: unknown) => (isSystemError(err, 'ERR_STREAM_PREMATURE_CLOSE') ? feedErr : err),
    );
    throw classify(failure, layer);
  }
  if (st.skipped.length > 0)
    log.warn('layer entries skipped', { layer, count: st.skipped.length, first: st.skipped[0] });
  return {
    entries: st.entries,
    bytes: st.bytes,
    skipped: st.skipped,
    xattrs: st.xattrs,
    xattrsApplied: st.xattrsApplied,
  };
}
