import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSystemError } from '#src/lib/index.js';
import { PersistError } from './errors.js';
import { parseSandboxRecord, type SandboxRecord } from './sandbox-record.js';

const STATE_FILE = 'state.json';
const SHORT_ID = 24;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Validates an id before it becomes a path component (containerd ids are [A-Za-z0-9_.-]). */
export function checkId(id: string, what = 'sandbox id'): string {
  if (!ID_RE.test(id)) {
    throw new PersistError(
      'invalid_argument',
      'ERR_PERSIST_INVALID',
      `invalid ${what} ${JSON.stringify(id)}`,
    );
  }
  return id;
}

/**
 * Sandbox records under `<root>/<sandboxId>/state.json`, written atomically (tmp + rename) so a
 * reader never sees half a record.
 */
export class StateStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /**
   * The sandbox's folder. Long ids (CRI uses 64 hex digits) are shortened to a prefix plus a hash,
   * so the unix sockets inside stay below the 107-byte limit.
   */
  dirOf(sandboxId: string): string {
    const id = checkId(sandboxId);
    if (id.length <= SHORT_ID) return join(this.root, id);
    const digest = createHash('sha256').update(id).digest('hex').slice(0, 10);
    return join(this.root, `${id.slice(0, 12)}-${digest}`);
  }

  save(record: SandboxRecord): void {
    const dir = this.dirOf(record.sandboxId);
    const path = join(dir, STATE_FILE);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
      renameSync(tmp, path);
    } catch (err) {
      throw new PersistError('internal', 'ERR_PERSIST_WRITE', `cannot write ${path}`, {
        cause: err,
      });
    }
  }

  /** The record, or undefined when there is none. */
  load(sandboxId: string): SandboxRecord | undefined {
    const path = join(this.dirOf(sandboxId), STATE_FILE);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (isSystemError(err, 'ENOENT')) return undefined;
      throw new PersistError('internal', 'ERR_PERSIST_READ', `cannot read ${path}`, { cause: err });
    }
    try {
      return parseSandboxRecord(JSON.parse(text), path);
    } catch (err) {
      throw new PersistError('invalid_argument', 'ERR_PERSIST_INVALID', `${path} is corrupt`, {
        cause: err,
      });
    }
  }

  /** Removes the sandbox's whole state folder (console log, sockets, images). */
  remove(sandboxId: string): void {
    rmSync(this.dirOf(sandboxId), { recursive: true, force: true });
  }

  /** The sandbox folders present (names, not ids: long ids are shortened). */
  list(): string[] {
    try {
      return readdirSync(this.root).filter((n) => ID_RE.test(n));
    } catch (err) {
      if (isSystemError(err, 'ENOENT')) return [];
      throw err;
    }
  }
}
