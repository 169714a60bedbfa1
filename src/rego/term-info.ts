import type { Term } from './ast.js';
import { isArray, RegoObject, RegoSet, type RegoValue } from './value.js';

const NONCONST = Symbol('nonconst');
const CONST = Symbol('const');

interface ConstSlot {
  [CONST]?: RegoValue | typeof NONCONST;
}

/** The value of a term built only from literals, else undefined. Cached on the term. */
export function constOf(t: Term): RegoValue | undefined {
  const slot = t as ConstSlot;
  let c = slot[CONST];
  if (c === undefined) {
    c = computeConst(t);
    slot[CONST] = c;
  }
  return c === NONCONST ? undefined : c;
}

function computeConst(t: Term): RegoValue | typeof NONCONST {
  switch (t.type) {
    case 'scalar':
      return t.value;
    case 'array': {
      const out: RegoValue[] = [];
      for (const x of t.items) {
        const v = constOf(x);
        if (v === undefined) return NONCONST;
        out.push(v);
      }
      return out;
    }
    case 'set': {
      const s = new RegoSet();
      for (const x of t.items) {
        const v = constOf(x);
        if (v === undefined) return NONCONST;
        s.add(v);
      }
      return s;
    }
    case 'object': {
      const o = new RegoObject();
      for (const [kt, vt] of t.entries) {
        const k = constOf(kt);
        const v = constOf(vt);
        if (k === undefined || v === undefined) return NONCONST;
        o.set(k, v);
      }
      return o;
    }
    case 'var':
    case 'ref':
    case 'call':
    case 'arraycompr':
    case 'setcompr':
    case 'objcompr':
      return NONCONST;
  }
}

/**
 * Calls `f(key, value)` for each child of a collection (sets: `f(x, x)`) in `entriesOf` order
 * until it returns true; true when it did. No pair arrays are built.
 */
export function someEntry(v: RegoValue, f: (key: RegoValue, val: RegoValue) => boolean): boolean {
  if (Array.isArray(v)) {
    const arr = v as readonly RegoValue[];
    for (let i = 0; i < arr.length; i++) if (f(i, arr[i] as RegoValue)) return true;
    return false;
  }
  if (v instanceof RegoObject) {
    for (const [k, x] of v.entries()) if (f(k, x)) return true;
    return false;
  }
  if (v instanceof RegoSet) {
    for (const x of v.values()) if (f(x, x)) return true;
  }
  return false;
}

/** Children of a collection as [key, value] pairs (sets: [x, x]). */
export function entriesOf(v: RegoValue): Iterable<readonly [RegoValue, RegoValue]> {
  if (Array.isArray(v)) return v.map((x, i) => [i, x] as const);
  if (v instanceof RegoObject) return v.entries();
  if (v instanceof RegoSet) return [...v.values()].map((x) => [x, x] as const);
  return [];
}

export function isCollection(v: RegoValue): boolean {
  return Array.isArray(v) || v instanceof RegoObject || v instanceof RegoSet;
}

/** `v[key]` per Rego: array index, object key, set membership. */
export function lookup(v: RegoValue | undefined, key: RegoValue): RegoValue | undefined {
  if (v === undefined || v === null || typeof v !== 'object') return undefined;
  if (isArray(v)) {
    if (typeof key === 'number') return Number.isInteger(key) ? v[key] : undefined;
    return undefined;
  }
  if (v instanceof RegoObject) return v.get(key);
  if (v instanceof RegoSet) return v.has(key) ? key : undefined;
  return undefined;
}

const ROOTS = new Set(['input', 'data']);

/** True if evaluating the term needs unbound vars in a pattern position (bare var, array/object items). */
export function needsPattern(t: Term, env: ReadonlyMap<string, RegoValue>): boolean {
  switch (t.type) {
    case 'var':
      return !env.has(t.name) && !ROOTS.has(t.name);
    case 'array':
      return t.items.some((x) => needsPattern(x, env));
    case 'object':
      return t.entries.some(([, v]) => needsPattern(v, env));
    case 'scalar':
    case 'ref':
    case 'set':
    case 'call':
    case 'arraycompr':
    case 'setcompr':
    case 'objcompr':
      return false;
  }
}

/** Output variables of a query, in order of appearance (generated names excluded). */
export function queryVars(terms: Iterable<Term>, out: string[] = []): string[] {
  const visit = (t: Term): void => {
    switch (t.type) {
      case 'var':
        if (!ROOTS.has(t.name) && !t.name.includes('$') && !out.includes(t.name)) out.push(t.name);
        return;
      case 'ref':
        visit(t.head);
        t.path.forEach(visit);
        return;
      case 'array':
      case 'set':
        t.items.forEach(visit);
        return;
      case 'object':
        for (const [k, v] of t.entries) {
          visit(k);
          visit(v);
        }
        return;
      case 'call':
        t.args.forEach(visit);
        return;
      case 'scalar':
      case 'arraycompr':
      case 'setcompr':
      case 'objcompr':
        return;
    }
  };
  for (const t of terms) visit(t);
  return out;
}
