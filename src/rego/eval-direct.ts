import type { RefTerm, Term } from './ast.js';
import type { DataNode } from './compile.js';
import { applyOverrides, type Override } from './eval-state.js';
import type { Env, Evaluator } from './eval.js';
import { constOf, lookup } from './term-info.js';
import { RegoObject, RegoSet, type RegoValue } from './value.js';

/** "Cannot evaluate without backtracking": the caller falls back to continuation passing. */
export const ITER = Symbol('iter');
export type Direct = RegoValue | undefined | typeof ITER;

const VARS = Symbol('vars');
const ROOTS = new Set(['input', 'data']);

interface VarsSlot {
  [VARS]?: readonly string[];
}

/** Variables a term reads outside comprehension bodies (cached on the term). */
export function varsOf(t: Term): readonly string[] {
  let vs = (t as VarsSlot)[VARS];
  if (vs) return vs;
  const out = new Set<string>();
  const visit = (x: Term): void => {
    switch (x.type) {
      case 'var':
        if (!ROOTS.has(x.name)) out.add(x.name);
        return;
      case 'ref':
        visit(x.head);
        x.path.forEach(visit);
        return;
      case 'array':
      case 'set':
        x.items.forEach(visit);
        return;
      case 'object':
        for (const [a, b] of x.entries) {
          visit(a);
          visit(b);
        }
        return;
      case 'call':
        x.args.forEach(visit);
        return;
      case 'scalar':
      case 'arraycompr':
      case 'setcompr':
      case 'objcompr':
        return;
    }
  };
  visit(t);
  vs = [...out];
  (t as VarsSlot)[VARS] = vs;
  return vs;
}

/** True when every variable the term reads is bound: it has at most one value. */
export function isDeterministic(t: Term, env: Env): boolean {
  for (const v of varsOf(t)) if (!env.has(v)) return false;
  return true;
}

/** Evaluates a term with no unbound variables straight to its value (no closures). */
export function direct(ev: Evaluator, t: Term, env: Env): Direct {
  switch (t.type) {
    case 'scalar':
      return t.value;
    case 'var': {
      const v = env.get(t.name);
      if (v !== undefined) return v;
      return t.name === 'input' ? ev.st.input : ITER;
    }
    case 'ref':
      return directRef(ev, t, env);
    case 'call':
      return ev.directCall(t, env);
    case 'array': {
      const c = constOf(t);
      if (c !== undefined) return c;
      const out: RegoValue[] = [];
      for (const x of t.items) {
        const v = direct(ev, x, env);
        if (v === undefined || v === ITER) return v;
        out.push(v);
      }
      return out;
    }
    case 'set': {
      const c = constOf(t);
      if (c !== undefined) return c;
      const out = new RegoSet();
      for (const x of t.items) {
        const v = direct(ev, x, env);
        if (v === undefined || v === ITER) return v;
        out.add(v);
      }
      return out;
    }
    case 'object': {
      const c = constOf(t);
      if (c !== undefined) return c;
      const out = new RegoObject();
      for (const [kt, vt] of t.entries) {
        const k = direct(ev, kt, env);
        if (k === undefined || k === ITER) return k;
        const v = direct(ev, vt, env);
        if (v === undefined || v === ITER) return v;
        out.set(k, v);
      }
      return out;
    }
    case 'arraycompr':
    case 'setcompr':
    case 'objcompr':
      return ev.firstValue(t, env);
  }
}

function walkValueDirect(
  ev: Evaluator,
  v: RegoValue,
  path: readonly Term[],
  i: number,
  env: Env,
): Direct {
  let cur: RegoValue | undefined = v;
  for (; i < path.length; i++) {
    const key = direct(ev, path[i] as Term, env);
    if (key === undefined || key === ITER) return key;
    cur = lookup(cur, key);
    if (cur === undefined) return undefined;
  }
  return cur;
}

function directRef(ev: Evaluator, t: RefTerm, env: Env): Direct {
  const head = t.head;
  if (head.type !== 'var') {
    const h = direct(ev, head, env);
    if (h === undefined || h === ITER) return h;
    return walkValueDirect(ev, h, t.path, 0, env);
  }
  const bound = env.get(head.name);
  if (bound !== undefined) return walkValueDirect(ev, bound, t.path, 0, env);
  if (head.name === 'input') {
    const input = ev.st.input;
    return input === undefined ? undefined : walkValueDirect(ev, input, t.path, 0, env);
  }
  if (head.name !== 'data') return ITER;
  let node: DataNode | undefined = ev.opts.root;
  let base: RegoValue | undefined = ev.st.data;
  let ov: Override | undefined = ev.st.overrides;
  for (let i = 0; i < t.path.length; i++) {
    if (ov?.value !== undefined) return walkValueDirect(ev, ov.value, t.path, i, env);
    if (node?.group) {
      if (node.group.kind === 'function') return undefined;
      let v = ev.groupValue(node.group);
      if (v === undefined) return undefined;
      if (ov) v = applyOverrides(v, ov);
      return walkValueDirect(ev, v, t.path, i, env);
    }
    if (!node && !ov)
      return base === undefined ? undefined : walkValueDirect(ev, base, t.path, i, env);
    const key = direct(ev, t.path[i] as Term, env);
    if (key === undefined || key === ITER) return key;
    const childBase = lookup(base, key);
    const child: DataNode | undefined =
      typeof key === 'string' ? node?.children.get(key) : undefined;
    const cov: Override | undefined = typeof key === 'string' ? ov?.children.get(key) : undefined;
    if (!child && !cov) {
      return childBase === undefined
        ? undefined
        : walkValueDirect(ev, childBase, t.path, i + 1, env);
    }
    node = child;
    base = childBase;
    ov = cov;
  }
  return ev.materialize(node, base, ov);
}
