/**
 * Rego values. Scalars are JS primitives; numbers are `number` (safe integers and decimals) or
 * `bigint` (integers beyond 2^53, kept exact). Objects and sets are hashed by a canonical key
 * so composite keys work. Values are immutable once built.
 */
export type RegoNumber = number | bigint;
export type RegoValue = null | boolean | RegoNumber | string | RegoArray | RegoObject | RegoSet;
export type RegoArray = readonly RegoValue[];

export type RegoTypeName = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object' | 'set';

export class RegoObject {
  readonly #entries = new Map<string, readonly [RegoValue, RegoValue]>();
  static fromEntries(entries: Iterable<readonly [RegoValue, RegoValue]>): RegoObject {
    const o = new RegoObject();
    for (const [k, v] of entries) o.set(k, v);
    return o;
  }
  static fromRecord(rec: Readonly<Record<string, RegoValue>>): RegoObject {
    const o = new RegoObject();
    for (const k of Object.keys(rec)) o.set(k, rec[k] ?? null);
    return o;
  }
  get size(): number {
    return this.#entries.size;
  }
  /** Builder use only: objects are immutable once published. */
  set(k: RegoValue, v: RegoValue): void {
    this.#entries.set(keyOf(k), [k, v]);
  }
  delete(k: RegoValue): void {
    this.#entries.delete(keyOf(k));
  }
  get(k: RegoValue): RegoValue | undefined {
    return this.#entries.get(keyOf(k))?.[1];
  }
  has(k: RegoValue): boolean {
    return this.#entries.has(keyOf(k));
  }
  entries(): IterableIterator<readonly [RegoValue, RegoValue]> {
    return this.#entries.values();
  }
  keys(): RegoValue[] {
    return [...this.#entries.values()].map((e) => e[0]);
  }
  clone(): RegoObject {
    const o = new RegoObject();
    for (const [k, v] of this.#entries.values()) o.set(k, v);
    return o;
  }
}

export class RegoSet {
  readonly #items = new Map<string, RegoValue>();
  static of(items: Iterable<RegoValue>): RegoSet {
    const s = new RegoSet();
    for (const v of items) s.add(v);
    return s;
  }
  get size(): number {
    return this.#items.size;
  }
  /** Builder use only. */
  add(v: RegoValue): void {
    const k = keyOf(v);
    if (!this.#items.has(k)) this.#items.set(k, v);
  }
  has(v: RegoValue): boolean {
    return this.#items.has(keyOf(v));
  }
  values(): IterableIterator<RegoValue> {
    return this.#items.values();
  }
  clone(): RegoSet {
    return RegoSet.of(this.#items.values());
  }
}

/** Code points of a string (Go iterates strings by rune). */
export function runes(s: string): string[] {
  return Array.from(s);
}

export function isArray(v: RegoValue | undefined): v is RegoArray {
  return Array.isArray(v);
}

export function isNumber(v: RegoValue | undefined): v is RegoNumber {
  return typeof v === 'number' || typeof v === 'bigint';
}

export function typeOf(v: RegoValue): RegoTypeName {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
    case 'bigint':
      return 'number';
    case 'string':
      return 'string';
    case 'object':
    case 'function':
    case 'symbol':
    case 'undefined':
      if (Array.isArray(v)) return 'array';
      return v instanceof RegoSet ? 'set' : 'object';
  }
}

/** Integers outside the safe range become bigint; safe bigints become numbers. */
export function normNumber(n: RegoNumber): RegoNumber {
  if (typeof n === 'bigint') {
    return n >= -9007199254740991n && n <= 9007199254740991n ? Number(n) : n;
  }
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) return BigInt(n);
  if (Object.is(n, -0)) return 0;
  return n;
}

export function isInteger(n: RegoNumber): boolean {
  return typeof n === 'bigint' || Number.isInteger(n);
}

/** Canonical hash key: equal Rego values give equal keys. */
export function keyOf(v: RegoValue): string {
  if (typeof v === 'string') return v.charCodeAt(0) === 0 ? '\u0000s' + v : v;
  return '\u0000' + canon(v);
}

function canon(v: RegoValue): string {
  if (v === null) return 'n';
  switch (typeof v) {
    case 'boolean':
      return v ? 't' : 'f';
    case 'number':
    case 'bigint':
      return 'd' + String(v);
    case 'string':
      return JSON.stringify(v);
    case 'object':
    case 'function':
    case 'symbol':
    case 'undefined':
      break;
  }
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  if (v instanceof RegoSet) return '<' + [...v.values()].map(canon).sort().join(',') + '>';
  const parts = [...(v as RegoObject).entries()].map(([k, x]) => canon(k) + ':' + canon(x));
  return '{' + parts.sort().join(',') + '}';
}
