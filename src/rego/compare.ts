import {
  isArray,
  RegoObject,
  RegoSet,
  type RegoValue,
  typeOf,
  type RegoTypeName,
} from './value.js';

const RANK: Record<RegoTypeName, number> = {
  null: 0,
  boolean: 1,
  number: 2,
  string: 3,
  array: 4,
  object: 5,
  set: 6,
};

/** Rego's total order: null < boolean < number < string < array < object < set. */
export function compare(a: RegoValue, b: RegoValue): number {
  const ta = typeOf(a);
  const tb = typeOf(b);
  if (ta !== tb) return RANK[ta] - RANK[tb];
  switch (ta) {
    case 'null':
      return 0;
    case 'boolean':
      return a === b ? 0 : a === false ? -1 : 1;
    case 'number':
      // number and bigint compare exactly in JS
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 'string':
      return compareStrings(a as string, b as string);
    case 'array':
      return compareLists(a as RegoValue[], b as RegoValue[]);
    case 'set':
      return compareLists(sortedValues(a as RegoSet), sortedValues(b as RegoSet));
    case 'object':
      return compareObjects(a as RegoObject, b as RegoObject);
  }
}

/** Strings order by code point (Go compares UTF-8 bytes, which orders the same way). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i) ?? 0;
    const cb = b.codePointAt(i) ?? 0;
    if (ca !== cb) return ca < cb ? -1 : 1;
    if (ca > 0xffff) i++;
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
}

function compareLists(a: readonly RegoValue[], b: readonly RegoValue[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compare(a[i] ?? null, b[i] ?? null);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

function compareObjects(a: RegoObject, b: RegoObject): number {
  const ea = sortedEntries(a);
  const eb = sortedEntries(b);
  const n = Math.min(ea.length, eb.length);
  for (let i = 0; i < n; i++) {
    const [ka, va] = ea[i] ?? [null, null];
    const [kb, vb] = eb[i] ?? [null, null];
    const kc = compare(ka, kb);
    if (kc !== 0) return kc;
    const vc = compare(va, vb);
    if (vc !== 0) return vc;
  }
  return ea.length - eb.length;
}

export function sortedValues(s: RegoSet): RegoValue[] {
  return [...s.values()].sort(compare);
}

export function sortedEntries(o: RegoObject): (readonly [RegoValue, RegoValue])[] {
  return [...o.entries()].sort((x, y) => compare(x[0], y[0]));
}

/** Structural equality (1 equals 1.0; bigint equals number of the same value). */
export function equal(a: RegoValue, b: RegoValue): boolean {
  if (a === b) return true;
  const ta = typeof a;
  if (ta !== 'object' || a === null || b === null || typeof b !== 'object') {
    if ((ta !== 'number' && ta !== 'bigint') || (typeof b !== 'number' && typeof b !== 'bigint')) {
      return false;
    }
    // number and bigint compare exactly with < and >
    return !((a as number) < b) && !((a as number) > b);
  }
  if (isArray(a)) {
    if (!isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  if (a instanceof RegoSet) {
    if (!(b instanceof RegoSet) || a.size !== b.size) return false;
    for (const v of a.values()) if (!b.has(v)) return false;
    return true;
  }
  if (!(b instanceof RegoObject) || !(a instanceof RegoObject) || a.size !== b.size) return false;
  for (const [k, v] of a.entries()) {
    const w = b.get(k);
    if (w === undefined || !equal(v, w)) return false;
  }
  return true;
}
