import { isPlainObject } from '#src/lib/index.js';
import type { KvStore } from '../store/index.js';
import { RvpsError } from './errors.js';

/** One named reference value: the accepted values of a claim, optionally until `expiresAt`. */
export interface ReferenceValue {
  readonly name: string;
  readonly values: readonly string[];
  /** Milliseconds since the epoch; absent = never expires. */
  readonly expiresAt?: number | undefined;
}

const NAME_RE = /^[A-Za-z0-9._-]{1,128}$/;
const MAX_VALUES = 1024;

function invalid(message: string): RvpsError {
  return new RvpsError('invalid_argument', 'ERR_RVPS_INVALID', message);
}

/**
 * Parses the admin API body `{"name": "snp.measurement", "values": ["ab12…"], "expires":
 * "2027-01-01T00:00:00Z"}`.
 */
export function parseReferenceValue(raw: unknown): ReferenceValue {
  if (!isPlainObject(raw)) throw invalid('reference value: expected a JSON object');
  for (const k of Object.keys(raw))
    if (!['name', 'values', 'expires'].includes(k))
      throw invalid(`reference value.${k}: unknown member (allowed: name, values, expires)`);
  const name = raw['name'];
  if (typeof name !== 'string' || !NAME_RE.test(name))
    throw invalid('reference value.name: expected 1..128 characters of [A-Za-z0-9._-]');
  const values = raw['values'];
  if (
    !Array.isArray(values) ||
    values.length > MAX_VALUES ||
    !values.every((v) => typeof v === 'string' && v.length <= 4096)
  )
    throw invalid(
      `reference value.values: expected an array of at most ${String(MAX_VALUES)} strings`,
    );
  const expires = raw['expires'];
  if (expires === undefined || expires === null) return { name, values: values as string[] };
  const t = typeof expires === 'string' ? Date.parse(expires) : NaN;
  if (typeof expires !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(expires) || Number.isNaN(t))
    throw invalid('reference value.expires: expected an RFC 3339 time like 2027-01-01T00:00:00Z');
  return { name, values: values as string[], expiresAt: t };
}

/**
 * The reference value provider service: reference values by name, persisted in the store,
 * served to the attestation policy as `data.reference` (expired ones left out).
 */
export class ReferenceValueStore {
  readonly #store: KvStore;
  readonly #now: () => number;

  constructor(store: KvStore, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  async set(rv: ReferenceValue): Promise<void> {
    const doc = {
      name: rv.name,
      values: rv.values,
      ...(rv.expiresAt === undefined ? {} : { expires: new Date(rv.expiresAt).toISOString() }),
    };
    await this.#store.put(
      'reference-values',
      rv.name,
      new TextEncoder().encode(JSON.stringify(doc)),
    );
  }

  async get(name: string): Promise<ReferenceValue | undefined> {
    const raw = await this.#store.get('reference-values', name);
    if (!raw) return undefined;
    return parseReferenceValue(JSON.parse(new TextDecoder().decode(raw)) as unknown);
  }

  async delete(name: string): Promise<boolean> {
    return this.#store.delete('reference-values', name);
  }

  /** name → accepted values, for `data.reference`; expired values are omitted. */
  async referenceData(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    const now = this.#now();
    for (const name of await this.#store.list('reference-values')) {
      const rv = await this.get(name);
      if (rv && (rv.expiresAt === undefined || rv.expiresAt > now)) out[name] = [...rv.values];
    }
    return out;
  }
}
