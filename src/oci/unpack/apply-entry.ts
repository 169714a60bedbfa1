import {
  chmod,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  open,
  rm,
  symlink,
  unlink,
} from 'node:fs/promises';
/** A tar entry header as tar-stream yields it; fields may be missing in odd archives. */
export interface Headers {
  readonly name: string;
  readonly type?:
    | 'file'
    | 'link'
    | 'symlink'
    | 'directory'
    | 'block-device'
    | 'character-device'
    | 'fifo'
    | 'contiguous-file'
    | 'pax-header'
    | 'pax-global-header'
    | 'gnu-long-link-path'
    | 'gnu-long-path'
    | null
    | undefined;
  readonly mode?: number | null | undefined;
  readonly uid?: number | null | undefined;
  readonly gid?: number | null | undefined;
  readonly size?: number | null | undefined;
  readonly mtime?: Date | null | undefined;
  readonly linkname?: string | null | undefined;
  readonly pax?: unknown;
}
export type EntryBody = AsyncIterable<Buffer>;
import { isSystemError } from '#src/lib/index.js';
import { entryComponents, unsafeEntry, type RootfsResolver } from './entry-path.js';

export interface EntryContext {
  readonly resolver: RootfsResolver;
  readonly layer: string;
  /** lchown entries to the archive's uid/gid (needs root). */
  readonly preserveOwnership: boolean;
  readonly devices: 'skip' | 'reject';
  readonly signal?: AbortSignal | undefined;
}

export type EntryOutcome = 'created' | 'skipped';

/** Removes whatever is at `path` (a directory only when `keepDirectory` is false). */
async function clearPath(
  path: string,
  keepDirectory: boolean,
  resolver: RootfsResolver,
): Promise<boolean> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return false;
    throw err;
  }
  if (st.isDirectory()) {
    if (keepDirectory) return true;
    await rm(path, { recursive: true, force: true });
    resolver.forget();
    return false;
  }
  await unlink(path);
  if (st.isSymbolicLink()) resolver.forget();
  return false;
}

async function finishMetadata(
  path: string,
  h: Headers,
  ctx: EntryContext,
  isLink: boolean,
): Promise<void> {
  if (ctx.preserveOwnership) await lchown(path, h.uid ?? 0, h.gid ?? 0);
  if (!isLink) await chmod(path, (h.mode ?? 0o644) & 0o7777);
  const mtime = h.mtime ?? new Date(0);
  if (h.type !== 'directory') await lutimes(path, mtime, mtime);
}

async function writeFile(
  path: string,
  h: Headers,
  body: EntryBody,
  ctx: EntryContext,
): Promise<void> {
  await clearPath(path, false, ctx.resolver);
  // 'wx' = O_CREAT|O_EXCL: never opens through a symlink planted at the final component
  const fh = await open(path, 'wx', 0o600);
  try {
    for await (const chunk of body) {
      let off = 0;
      while (off < chunk.length) off += (await fh.write(chunk, off)).bytesWritten;
    }
  } finally {
    await fh.close();
  }
  await finishMetadata(path, h, ctx, false);
}

async function makeHardLink(path: string, h: Headers, ctx: EntryContext): Promise<void> {
  const target = h.linkname ?? '';
  const targetParts = entryComponents(target, ctx.layer);
  if (targetParts.length === 0)
    throw unsafeEntry(ctx.layer, h.name, 'hard link to the rootfs itself');
  const source = await ctx.resolver.resolve(targetParts, h.name);
  let st;
  try {
    st = await lstat(source);
  } catch (err) {
    if (isSystemError(err, 'ENOENT'))
      throw unsafeEntry(
        ctx.layer,
        h.name,
        `hard link target ${JSON.stringify(target)} does not exist in the rootfs`,
      );
    throw err;
  }
  if (st.isDirectory()) throw unsafeEntry(ctx.layer, h.name, 'hard link to a directory');
  if (source === path) return;
  await clearPath(path, false, ctx.resolver);
  await link(source, path);
}

/** Applies one non-whiteout entry whose body is `body`; returns whether it created something. */
export async function applyEntry(
  h: Headers,
  parts: readonly string[],
  body: EntryBody,
  ctx: EntryContext,
): Promise<EntryOutcome> {
  const path = await ctx.resolver.resolve(parts, h.name);
  switch (h.type) {
    case 'file':
    case 'contiguous-file':
    case undefined:
    case null:
      await writeFile(path, h, body, ctx);
      return 'created';
    case 'directory':
      if (parts.length === 0) {
        await finishMetadata(path, h, ctx, false);
        return 'created';
      }
      if (!(await clearPath(path, true, ctx.resolver))) await mkdir(path, { mode: 0o700 });
      ctx.resolver.markDirectory(parts);
      await finishMetadata(path, h, ctx, false);
      return 'created';
    case 'symlink':
      if (parts.length === 0)
        throw unsafeEntry(ctx.layer, h.name, 'the rootfs itself cannot become a symlink');
      await clearPath(path, false, ctx.resolver);
      await symlink(h.linkname ?? '', path);
      await finishMetadata(path, h, ctx, true);
      return 'created';
    case 'link':
      await makeHardLink(path, h, ctx);
      return 'created';
    case 'character-device':
    case 'block-device':
    case 'fifo':
      if (ctx.devices === 'reject')
        throw unsafeEntry(ctx.layer, h.name, `${h.type} entries are not allowed`);
      return 'skipped';
    case 'pax-header':
    case 'pax-global-header':
    case 'gnu-long-link-path':
    case 'gnu-long-path':
      return 'skipped';
  }
  return 'skipped';
}
