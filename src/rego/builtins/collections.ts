import { compare, equal } from '../compare.js';
import { entriesOf, lookup } from '../term-info.js';
import {
  isArray,
  isNumber,
  normNumber,
  RegoObject,
  RegoSet,
  runes,
  typeOf,
  type RegoNumber,
  type RegoValue,
} from '../value.js';
import { arg, arr, int, items, set, typeFail } from './args.js';
import type { BuiltinTable } from './types.js';

function numbers(args: readonly RegoValue[]): RegoNumber[] {
  return items(args, 0).map((x) => {
    if (!isNumber(x)) return typeFail(0, 'one of {array, set} of numbers', x);
    return x;
  });
}

function add(a: RegoNumber, b: RegoNumber): RegoNumber {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (!Number.isInteger(r) || Number.isSafeInteger(r)) return normNumber(r);
  }
  if (Number.isInteger(Number(a)) && Number.isInteger(Number(b)))
    return normNumber(BigInt(a) + BigInt(b));
  return normNumber(Number(a) + Number(b));
}

function count(v: RegoValue): number {
  if (typeof v === 'string') return runes(v).length;
  if (Array.isArray(v)) return v.length;
  if (v instanceof RegoObject || v instanceof RegoSet) return v.size;
  return typeFail(0, 'one of {array, object, set, string}', v);
}

function walk(v: RegoValue): RegoValue[] {
  const out: RegoValue[] = [];
  const rec = (path: RegoValue[], x: RegoValue): void => {
    out.push([path, x]);
    for (const [k, c] of entriesOf(x)) rec([...path, k], c);
  };
  rec([], v);
  return out;
}

export const COLLECTION_BUILTINS: BuiltinTable = {
  count: { arity: 1, fn: (a) => count(arg(a, 0)) },
  sum: { arity: 1, fn: (a) => numbers(a).reduce<RegoNumber>(add, 0) },
  product: {
    arity: 1,
    fn: (a) =>
      numbers(a).reduce<RegoNumber>(
        (x, y) =>
          Number.isInteger(Number(x)) && Number.isInteger(Number(y))
            ? normNumber(BigInt(x) * BigInt(y))
            : Number(x) * Number(y),
        1,
      ),
  },
  max: {
    arity: 1,
    fn: (a) =>
      items(a, 0).reduce<RegoValue | undefined>(
        (m, x) => (m === undefined || compare(x, m) > 0 ? x : m),
        undefined,
      ),
  },
  min: {
    arity: 1,
    fn: (a) =>
      items(a, 0).reduce<RegoValue | undefined>(
        (m, x) => (m === undefined || compare(x, m) < 0 ? x : m),
        undefined,
      ),
  },
  sort: { arity: 1, fn: (a) => [...items(a, 0)].sort(compare) },
  all: { arity: 1, fn: (a) => items(a, 0).every((x) => x === true) },
  any: { arity: 1, fn: (a) => items(a, 0).some((x) => x === true) },
  or: {
    arity: 2,
    fn: (a) => {
      const x = set(a, 0);
      const y = set(a, 1);
      return RegoSet.of([...x.values(), ...y.values()]);
    },
  },
  and: {
    arity: 2,
    fn: (a) => {
      const x = set(a, 0);
      const y = set(a, 1);
      return RegoSet.of([...x.values()].filter((v) => y.has(v)));
    },
  },
  union: {
    arity: 1,
    fn: (a) => {
      const out = new RegoSet();
      for (const s of set(a, 0).values()) {
        if (!(s instanceof RegoSet)) return typeFail(0, 'set of sets', s);
        for (const v of s.values()) out.add(v);
      }
      return out;
    },
  },
  intersection: {
    arity: 1,
    fn: (a) => {
      const sets = [...set(a, 0).values()];
      if (sets.length === 0) return new RegoSet();
      for (const s of sets) if (!(s instanceof RegoSet)) return typeFail(0, 'set of sets', s);
      const [first, ...rest] = sets as RegoSet[];
      return RegoSet.of(
        [...(first as RegoSet).values()].filter((v) => rest.every((s) => s.has(v))),
      );
    },
  },
  'internal.member_2': {
    arity: 2,
    fn: (a) => {
      const x = arg(a, 0);
      const c = arg(a, 1);
      if (c instanceof RegoSet) return c.has(x);
      for (const [, v] of entriesOf(c)) if (equal(v, x)) return true;
      return false;
    },
  },
  'internal.member_3': {
    arity: 3,
    fn: (a) => {
      const c = arg(a, 2);
      if (c instanceof RegoSet) return false;
      const v = lookup(c, arg(a, 0));
      return v !== undefined && equal(v, arg(a, 1));
    },
  },
  'array.concat': { arity: 2, fn: (a) => [...arr(a, 0), ...arr(a, 1)] },
  'array.slice': {
    arity: 3,
    fn: (a) => {
      const xs = arr(a, 0);
      let start = Number(int(a, 1));
      let stop = Number(int(a, 2));
      start = Math.max(0, start);
      stop = Math.min(xs.length, stop);
      return start >= stop ? [] : xs.slice(start, stop);
    },
  },
  'array.reverse': { arity: 1, fn: (a) => [...arr(a, 0)].reverse() },
  'array.flatten': {
    arity: 1,
    fn: (a) => {
      const out: RegoValue[] = [];
      for (const x of arr(a, 0)) {
        if (Array.isArray(x)) out.push(...(x as RegoValue[]));
        else out.push(x);
      }
      return out;
    },
  },
  walk: { arity: 1, multi: true, fn: (a) => walk(arg(a, 0)) },
  type_name: { arity: 1, fn: (a) => typeOf(arg(a, 0)) },
  is_string: { arity: 1, fn: (a) => typeOf(arg(a, 0)) === 'string' },
  is_number: { arity: 1, fn: (a) => typeOf(arg(a, 0)) === 'number' },
  is_boolean: { arity: 1, fn: (a) => typeOf(arg(a, 0)) === 'boolean' },
  is_array: { arity: 1, fn: (a) => typeOf(arg(a, 0)) === 'array' },
  is_set: { arity: 1, fn: (a) => typeOf(arg(a, 0)) === 'set' },
  is_object: { arity: 1, fn: (a) => typeOf(arg(a, 0)) === 'object' },
  is_null: { arity: 1, fn: (a) => typeOf(arg(a, 0)) === 'null' },
  cast_array: {
    arity: 1,
    fn: (a) => {
      const v = arg(a, 0);
      if (isArray(v)) return v;
      if (v instanceof RegoSet) return [...v.values()].sort(compare);
      return typeFail(0, 'one of {array, set}', v);
    },
  },
  cast_set: { arity: 1, fn: (a) => RegoSet.of(items(a, 0)) },
  cast_string: {
    arity: 1,
    fn: (a) => (typeof arg(a, 0) === 'string' ? arg(a, 0) : typeFail(0, 'string', arg(a, 0))),
  },
  cast_boolean: {
    arity: 1,
    fn: (a) => (typeof arg(a, 0) === 'boolean' ? arg(a, 0) : typeFail(0, 'boolean', arg(a, 0))),
  },
  cast_null: { arity: 1, fn: (a) => (arg(a, 0) === null ? null : typeFail(0, 'null', arg(a, 0))) },
  cast_object: {
    arity: 1,
    fn: (a) => (arg(a, 0) instanceof RegoObject ? arg(a, 0) : typeFail(0, 'object', arg(a, 0))),
  },
};
