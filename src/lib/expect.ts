import { LibError } from './errors.js';

/**
 * Small schema helpers for config and wire input: each names the full key path in its error,
 * e.g. `hypervisor.qemu.memory_mib: expected integer ≥ 256, got "2G"`.
 */

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v);
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v.toString();
  return typeof v;
}

export function invalid(at: string, expected: string, got: unknown): LibError {
  return new LibError(
    'invalid_argument',
    'ERR_CONFIG_INVALID',
    `${at}: expected ${expected}, got ${describe(got)}`,
  );
}

export type JsonObject = Readonly<Record<string, unknown>>;

export function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** An object whose keys are all in `allowed` (unknown keys are errors), when `allowed` is given. */
export function expectObject(raw: unknown, at: string, allowed?: readonly string[]): JsonObject {
  if (!isPlainObject(raw)) throw invalid(at, 'a table/object', raw);
  if (allowed) {
    for (const key of Object.keys(raw)) {
      if (!allowed.includes(key)) {
        throw new LibError(
          'invalid_argument',
          'ERR_CONFIG_INVALID',
          `${at === '' ? key : `${at}.${key}`}: unknown key (known: ${allowed.join(', ')})`,
        );
      }
    }
  }
  return raw;
}

export function expectString(raw: unknown, at: string, opts: { nonEmpty?: boolean } = {}): string {
  if (typeof raw !== 'string') throw invalid(at, 'a string', raw);
  if (opts.nonEmpty === true && raw === '') throw invalid(at, 'a non-empty string', raw);
  return raw;
}

export function expectBoolean(raw: unknown, at: string): boolean {
  if (typeof raw !== 'boolean') throw invalid(at, 'true or false', raw);
  return raw;
}

export function expectInt(
  raw: unknown,
  at: string,
  opts: { min?: number; max?: number } = {},
): number {
  const n = typeof raw === 'bigint' ? Number(raw) : raw;
  const range =
    opts.min !== undefined && opts.max !== undefined
      ? ` ${opts.min}..${opts.max}`
      : opts.min !== undefined
        ? ` ≥ ${opts.min}`
        : opts.max !== undefined
          ? ` ≤ ${opts.max}`
          : '';
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw invalid(at, `integer${range}`, raw);
  if (opts.min !== undefined && n < opts.min) throw invalid(at, `integer${range}`, raw);
  if (opts.max !== undefined && n > opts.max) throw invalid(at, `integer${range}`, raw);
  return n;
}

export function expectOneOf<const T extends string>(
  raw: unknown,
  at: string,
  values: readonly T[],
): T {
  if (typeof raw !== 'string' || !(values as readonly string[]).includes(raw)) {
    throw invalid(at, `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`, raw);
  }
  return raw as T;
}

export function expectArray(raw: unknown, at: string): readonly unknown[] {
  if (!Array.isArray(raw)) throw invalid(at, 'an array', raw);
  return raw;
}

export function expectStringArray(raw: unknown, at: string): readonly string[] {
  return expectArray(raw, at).map((v, i) => expectString(v, `${at}[${i}]`));
}

export function optional<T>(raw: unknown, parse: (v: unknown) => T): T | undefined {
  return raw === undefined ? undefined : parse(raw);
}
