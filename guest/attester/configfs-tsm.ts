import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { isSystemError, throwIfAborted } from '#src/lib/index.js';
import { AttesterError } from './errors.js';

/** The file operations configfs-tsm needs; injectable so tests can serve a fake tree. */
export interface TsmFs {
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  access(path: string): Promise<void>;
}

export const NODE_TSM_FS: TsmFs = {
  mkdir: async (p) => {
    await fsp.mkdir(p);
  },
  rmdir: (p) => fsp.rmdir(p),
  writeFile: (p, d) => fsp.writeFile(p, d),
  readFile: async (p) => new Uint8Array(await fsp.readFile(p)),
  access: (p) => fsp.access(p),
};

/** Path of the report directory below a sysfs-like root (`/` in production). */
export function tsmReportDir(root: string): string {
  return join(root, 'sys', 'kernel', 'config', 'tsm', 'report');
}

export interface TsmReportRequest {
  readonly inblob: Uint8Array;
  /** The provider the kernel must name (`tdx_guest`, `sev_guest`). */
  readonly provider: string;
  /** SNP VMPL (`privlevel`); absent = not written. */
  readonly privlevel?: number | undefined;
  /** Read `auxblob` too (SNP certificate table); absent file = empty. */
  readonly wantAuxblob?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface TsmReport {
  readonly outblob: Uint8Array;
  readonly auxblob: Uint8Array | undefined;
  readonly provider: string;
}

/** Is configfs-tsm there (the report directory exists)? */
export async function hasConfigfsTsm(root: string, fs: TsmFs = NODE_TSM_FS): Promise<boolean> {
  return pathExists(fs, tsmReportDir(root));
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8').trim();

function tsmError(what: string, entry: string, err: unknown): AttesterError {
  const kind = isSystemError(err) && err.code === 'ENOENT' ? 'unavailable' : 'internal';
  const detail = err instanceof Error ? err.message : String(err);
  return new AttesterError(kind, 'ERR_ATTESTER_TSM', `configfs-tsm ${what} ${entry}: ${detail}`, {
    cause: err,
  });
}

async function readGeneration(fs: TsmFs, entry: string): Promise<number> {
  const raw = text(await fs.readFile(join(entry, 'generation')));
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n))
    throw new AttesterError(
      'internal',
      'ERR_ATTESTER_TSM',
      `configfs-tsm ${entry}/generation: not a number: "${raw.slice(0, 40)}"`,
    );
  return n;
}

/**
 * One configfs-tsm report (Documentation/ABI/testing/configfs-tsm): mkdir an entry, write
 * `inblob` (and `privlevel`), read `outblob`, check `provider` and that `generation` moved by
 * exactly one write (another writer would have raced us), then rmdir the entry.
 */
export async function requestTsmReport(
  root: string,
  req: TsmReportRequest,
  fs: TsmFs = NODE_TSM_FS,
): Promise<TsmReport> {
  throwIfAborted(req.signal);
  const entry = join(tsmReportDir(root), `kata-cc-${randomBytes(8).toString('hex')}`);
  try {
    await fs.mkdir(entry);
  } catch (err) {
    throw tsmError('mkdir', entry, err);
  }
  try {
    return await readEntry(fs, entry, req);
  } finally {
    await fs.rmdir(entry).catch(() => undefined);
  }
}

async function readEntry(fs: TsmFs, entry: string, req: TsmReportRequest): Promise<TsmReport> {
  let step = 'provider';
  try {
    const provider = text(await fs.readFile(join(entry, 'provider')));
    if (provider !== req.provider)
      throw new AttesterError(
        'unavailable',
        'ERR_ATTESTER_UNSUPPORTED',
        `configfs-tsm provider is "${provider.slice(0, 40)}", expected "${req.provider}"`,
      );
    step = 'generation';
    const before = await readGeneration(fs, entry);
    if (req.privlevel !== undefined) {
      step = 'privlevel';
      await fs.writeFile(join(entry, 'privlevel'), String(req.privlevel));
    }
    step = 'inblob';
    await fs.writeFile(join(entry, 'inblob'), req.inblob);
    throwIfAborted(req.signal);
    step = 'outblob';
    const outblob = await fs.readFile(join(entry, 'outblob'));
    let auxblob: Uint8Array | undefined;
    if (req.wantAuxblob === true) {
      step = 'auxblob';
      auxblob = await fs.readFile(join(entry, 'auxblob')).catch((err: unknown) => {
        if (isSystemError(err) && err.code === 'ENOENT') return undefined;
        throw err;
      });
    }
    step = 'generation';
    const after = await readGeneration(fs, entry);
    const writes = req.privlevel === undefined ? 1 : 2;
    if (after !== before + writes)
      throw new AttesterError(
        'unavailable',
        'ERR_ATTESTER_TSM_RACE',
        `configfs-tsm ${entry}: generation went ${String(before)} → ${String(after)}, another writer raced this report; retry`,
      );
    if (outblob.length === 0)
      throw new AttesterError(
        'internal',
        'ERR_ATTESTER_TSM',
        `configfs-tsm ${entry}/outblob is empty`,
      );
    return { outblob, auxblob, provider };
  } catch (err) {
    if (err instanceof AttesterError) throw err;
    throw tsmError(step, entry, err);
  }
}

/** Whether `path` is there (any error, ENOENT or EACCES alike, counts as absent). */
export async function pathExists(fs: TsmFs, path: string): Promise<boolean> {
  try {
    await fs.access(path);
    return true;
  } catch {
    return false;
  }
}
