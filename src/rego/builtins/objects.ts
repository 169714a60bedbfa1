import { equal } from '../compare.js';
import { lookup } from '../term-info.js';
import { RegoObject, RegoSet, type RegoValue } from '../value.js';
import { arg, arr, fail, obj, typeFail } from './args.js';
import type { BuiltinTable } from './types.js';

function union(a: RegoObject, b: RegoObject): RegoObject {
  const out = a.clone();
  for (const [k, v] of b.entries()) {
    const cur = out.get(k);
    out.set(k, cur instanceof RegoObject && v instanceof RegoObject ? union(cur, v) : v);
  }
  return out;
}

function keysOperand(args: readonly RegoValue[], i: number): RegoValue[] {
  const v = arg(args, i);
  if (Array.isArray(v)) return v as RegoValue[];
  if (v instanceof RegoSet) return [...v.values()];
  if (v instanceof RegoObject) return v.keys();
  return typeFail(i, 'one of {object, set, array}', v);
}

function objectGet(args: readonly RegoValue[]): RegoValue {
  const o = obj(args, 0);
  const key = arg(args, 1);
  const dflt = arg(args, 2);
  if (!Array.isArray(key)) return o.get(key) ?? dflt;
  let cur: RegoValue | undefined = o;
  for (const k of key as RegoValue[]) {
    cur = lookup(cur, k);
    if (cur === undefined) return dflt;
  }
  return cur;
}

function subset(sup: RegoValue, sub: RegoValue): boolean {
  if (sup instanceof RegoObject && sub instanceof RegoObject) {
    for (const [k, v] of sub.entries()) {
      const w = sup.get(k);
      if (w === undefined) return false;
      if (!(w instanceof RegoObject && v instanceof RegoObject ? subset(w, v) : equal(w, v)))
        return false;
    }
    return true;
  }
  if (sup instanceof RegoSet && sub instanceof RegoSet)
    return [...sub.values()].every((v) => sup.has(v));
  if (Array.isArray(sup) && Array.isArray(sub)) {
    const a = sup as RegoValue[];
    const b = sub as RegoValue[];
    if (b.length === 0) return true;
    for (let i = 0; i + b.length <= a.length; i++)
      if (b.every((x, j) => equal(x, a[i + j] ?? null))) return true;
    return false;
  }
  if (sup instanceof RegoSet && Array.isArray(sub))
    return (sub as RegoValue[]).every((v) => sup.has(v));
  return typeFail(0, 'one of {object, set, array}', sup);
}

/** JSON pointer or array of segments → path segments. */
function patchPath(p: RegoValue): RegoValue[] {
  if (Array.isArray(p)) return p as RegoValue[];
  if (typeof p !== 'string') return fail('patch path must be a string or array');
  if (p === '') return [];
  return (p.startsWith('/') ? p.slice(1) : p)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function getAt(doc: RegoValue, path: readonly RegoValue[]): RegoValue | undefined {
  let cur: RegoValue | undefined = doc;
  for (const seg of path) {
    if (Array.isArray(cur) && typeof seg === 'string')
      cur = ARRAY_INDEX.test(seg) ? (cur as RegoValue[])[Number(seg)] : undefined;
    else cur = lookup(cur, seg);
    if (cur === undefined) return undefined;
  }
  return cur;
}

const ARRAY_INDEX = /^(0|[1-9]\d*)$/;

function arrayIndex(seg: RegoValue): number {
  if (typeof seg === 'number') return seg;
  return typeof seg === 'string' && ARRAY_INDEX.test(seg) ? Number(seg) : NaN;
}

function modify(
  doc: RegoValue,
  path: readonly RegoValue[],
  f: (parent: RegoValue, key: RegoValue) => RegoValue | undefined,
): RegoValue | undefined {
  if (path.length === 0) return undefined;
  const [seg, ...rest] = path as [RegoValue, ...RegoValue[]];
  if (rest.length === 0) return f(doc, seg);
  const child = getAt(doc, [seg]);
  if (child === undefined) return undefined;
  const updated = modify(child, rest, f);
  if (updated === undefined) return undefined;
  return replaceChild(doc, seg, updated);
}

function replaceChild(doc: RegoValue, seg: RegoValue, v: RegoValue): RegoValue | undefined {
  if (Array.isArray(doc)) {
    const i = arrayIndex(seg);
    const out = [...(doc as RegoValue[])];
    out[i] = v;
    return out;
  }
  if (doc instanceof RegoObject) {
    const o = doc.clone();
    o.set(seg, v);
    return o;
  }
  if (doc instanceof RegoSet)
    return RegoSet.of([...doc.values()].filter((x) => !equal(x, seg)).concat([v]));
  return undefined;
}

function addAt(doc: RegoValue, path: readonly RegoValue[], v: RegoValue): RegoValue | undefined {
  if (path.length === 0) return v;
  return modify(doc, path, (parent, key) => {
    if (Array.isArray(parent)) {
      const xs = [...(parent as RegoValue[])];
      const i = key === '-' ? xs.length : arrayIndex(key);
      if (!Number.isInteger(i) || i < 0 || i > xs.length) return undefined;
      xs.splice(i, 0, v);
      return xs;
    }
    if (parent instanceof RegoObject) {
      const o = parent.clone();
      o.set(key, v);
      return o;
    }
    if (parent instanceof RegoSet)
      return equal(key, v) ? RegoSet.of([...parent.values(), v]) : undefined;
    return undefined;
  });
}

function removeAt(doc: RegoValue, path: readonly RegoValue[]): RegoValue | undefined {
  return modify(doc, path, (parent, key) => {
    if (Array.isArray(parent)) {
      const i = arrayIndex(key);
      if (!Number.isInteger(i) || i < 0 || i >= parent.length) return undefined;
      return (parent as RegoValue[]).filter((_, j) => j !== i);
    }
    if (parent instanceof RegoObject && parent.has(key)) {
      const o = parent.clone();
      o.delete(key);
      return o;
    }
    if (parent instanceof RegoSet && parent.has(key))
      return RegoSet.of([...parent.values()].filter((x) => !equal(x, key)));
    return undefined;
  });
}

function applyPatch(doc: RegoValue, patch: RegoValue): RegoValue | undefined {
  if (!(patch instanceof RegoObject)) return fail('patch must be an object');
  const op = patch.get('op');
  const path = patchPath(patch.get('path') ?? null);
  const value = patch.get('value');
  if ((op === 'add' || op === 'replace' || op === 'test') && value === undefined) return undefined;
  switch (op) {
    case 'add':
      return addAt(doc, path, patch.get('value') ?? null);
    case 'remove':
      return removeAt(doc, path);
    case 'replace': {
      if (getAt(doc, path) === undefined) return undefined;
      const r = path.length === 0 ? doc : removeAt(doc, path);
      return r === undefined ? undefined : addAt(r, path, patch.get('value') ?? null);
    }
    case 'move':
    case 'copy': {
      const from = patchPath(patch.get('from') ?? null);
      const v = getAt(doc, from);
      if (v === undefined) return undefined;
      const r = op === 'move' ? removeAt(doc, from) : doc;
      return r === undefined ? undefined : addAt(r, path, v);
    }
    case 'test': {
      const v = getAt(doc, path);
      return v !== undefined && equal(v, patch.get('value') ?? null) ? doc : undefined;
    }
    case undefined:
    case null:
    case true:
    case false:
    default:
      return undefined;
  }
}

export const OBJECT_BUILTINS: BuiltinTable = {
  'object.get': { arity: 3, fn: objectGet },
  'object.keys': { arity: 1, fn: (a) => RegoSet.of(obj(a, 0).keys()) },
  'object.union': { arity: 2, fn: (a) => union(obj(a, 0), obj(a, 1)) },
  'object.union_n': {
    arity: 1,
    fn: (a) =>
      arr(a, 0).reduce<RegoObject>((acc, x) => {
        if (!(x instanceof RegoObject)) return typeFail(0, 'array of objects', x);
        return union(acc, x);
      }, new RegoObject()),
  },
  'object.remove': {
    arity: 2,
    fn: (a) => {
      const o = obj(a, 0).clone();
      for (const k of keysOperand(a, 1)) o.delete(k);
      return o;
    },
  },
  'object.filter': {
    arity: 2,
    fn: (a) => {
      const o = obj(a, 0);
      const out = new RegoObject();
      for (const k of keysOperand(a, 1)) {
        const v = o.get(k);
        if (v !== undefined) out.set(k, v);
      }
      return out;
    },
  },
  'object.subset': { arity: 2, fn: (a) => subset(arg(a, 0), arg(a, 1)) },
  'json.patch': {
    arity: 2,
    fn: (a) => {
      let doc: RegoValue | undefined = arg(a, 0);
      for (const p of arr(a, 1)) {
        doc = applyPatch(doc, p);
        if (doc === undefined) return undefined;
      }
      return doc;
    },
  },
};
