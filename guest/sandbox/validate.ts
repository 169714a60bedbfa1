import { posix } from 'node:path';
import { invalidInput } from './errors.js';

/** Longest container / exec / sandbox id accepted (runc and crun allow 1024; Kata ids are 64). */
export const MAX_ID_LENGTH = 128;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * An id that is safe as one path component and as a crun container name: letters, digits,
 * `_ . -`, not starting with a separator, never `.`/`..`.
 */
export function checkId(raw: string, what: string): string {
  if (raw.length === 0) throw invalidInput(`${what}: must not be empty`);
  if (raw.length > MAX_ID_LENGTH)
    throw invalidInput(`${what}: longer than ${MAX_ID_LENGTH} characters`);
  if (!ID_PATTERN.test(raw) || raw.includes('..'))
    throw invalidInput(
      `${what}: ${JSON.stringify(raw)} is not a safe id (allowed: A-Z a-z 0-9 _ . -)`,
    );
  return raw;
}

/** An absolute, already-normalized path without NUL bytes, `.` or `..` components. */
export function checkAbsolutePath(raw: string, what: string): string {
  if (raw.includes('\0')) throw invalidInput(`${what}: contains a NUL byte`);
  if (!raw.startsWith('/')) throw invalidInput(`${what}: ${JSON.stringify(raw)} is not absolute`);
  if (raw.length > 4096) throw invalidInput(`${what}: longer than 4096 bytes`);
  const normal = posix.normalize(raw);
  const trimmed = normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
  const rawTrimmed = raw.length > 1 && raw.endsWith('/') ? raw.slice(0, -1) : raw;
  if (trimmed !== rawTrimmed || raw.split('/').some((c) => c === '..' || c === '.'))
    throw invalidInput(`${what}: ${JSON.stringify(raw)} is not normalized`);
  return trimmed;
}

/** True when `path` is `dir` or inside it (both normalized absolute paths). */
export function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

export function checkBounded(n: number, what: string, max: number, min = 0): number {
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw invalidInput(`${what}: expected an integer ${min}..${max}, got ${n}`);
  return n;
}

/** A list bounded in length, each element checked. */
export function checkList<T>(items: readonly T[], what: string, max: number): readonly T[] {
  if (items.length > max) throw invalidInput(`${what}: more than ${max} entries`);
  return items;
}

/** A string bounded in length and free of NUL bytes (argv, env, options). */
export function checkText(raw: string, what: string, max = 65536): string {
  if (raw.length > max) throw invalidInput(`${what}: longer than ${max} bytes`);
  if (raw.includes('\0')) throw invalidInput(`${what}: contains a NUL byte`);
  return raw;
}
