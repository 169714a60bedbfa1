import type { CallTerm, Expr, RefTerm, Term } from './ast.js';
import type { DataNode, RuleGroup } from './compile.js';
import { equal } from './compare.js';
import { conflictError } from './errors.js';
import { applyOverrides, type EvalState, type Override } from './eval-state.js';
import { evalWith } from './eval-with.js';
import { collectSingle, groupValue } from './eval-rules.js';
import { directCall, evalCall } from './eval-calls.js';
import { direct, isDeterministic, ITER, type Direct } from './eval-direct.js';
import type { BuiltinContext, BuiltinDef } from './builtins/types.js';
import { constOf, entriesOf, isCollection, lookup, needsPattern, someEntry } from './term-info.js';
import type { SharedValues } from './shared-values.js';
import { RegoObject, RegoSet, type RegoValue } from './value.js';

export type Env = Map<string, RegoValue>;
/** Continuations return true to stop the search. */
export type Cont = () => boolean;
export type ValueCont = (v: RegoValue) => boolean;

export interface EvaluatorOptions {
  readonly root: DataNode;
  readonly builtins: ReadonlyMap<string, BuiltinDef>;
  readonly strict: boolean;
  /** undefined: print() is a no-op whose arguments are not evaluated (OPA without a print hook). */
  readonly print: ((line: string) => void) | undefined;
  readonly ctx: BuiltinContext;
  /** Values shared across evaluations of the policy (read and filled only with no `with` in effect). */
  readonly shared?: SharedValues | undefined;
}

/** Top-down, backtracking evaluation of Rego (continuation-passing; bindings undone on return). */
export class Evaluator {
  st: EvalState;
  readonly opts: EvaluatorOptions;
  /** Nesting of rule/function evaluation, bounded to catch recursion. */
  depth = 0;
  /** The evaluation's own state: `with` and mocked functions replace `st` with another one. */
  readonly #base: EvalState;
  constructor(opts: EvaluatorOptions, st: EvalState) {
    this.opts = opts;
    this.st = st;
    this.#base = st;
  }

  /** The shared values when `g` is stable and no `with` (or mock) is in effect, else undefined. */
  sharedFor(g: RuleGroup): SharedValues | undefined {
    const shared = this.opts.shared;
    return shared !== undefined && this.st === this.#base && shared.isStable(g)
      ? shared
      : undefined;
  }

  evalBody(body: readonly Expr[], i: number, env: Env, k: Cont): boolean {
    if (i === body.length) return k();
    const e = body[i] as Expr;
    const next = (): boolean => this.evalBody(body, i + 1, env, k);
    if (e.with.length > 0) return evalWith(this, e, env, next);
    return this.evalExpr(e, env, next);
  }

  evalExpr(e: Expr, env: Env, k: Cont): boolean {
    switch (e.type) {
      case 'term': {
        const t = e.term;
        if (t.type === 'call' && t.fn.length === 1 && t.fn[0] === 'print') {
          return this.evalCall(t, env, () => k());
        }
        if ((t.type === 'ref' || t.type === 'call') && isDeterministic(t, env)) {
          const d = direct(this, t, env);
          if (d !== ITER) return d === undefined || d === false ? false : k();
        }
        return this.evalTerm(t, env, (v) => (v === false ? false : k()));
      }
      case 'unify': {
        const { left, right } = e;
        if (left.type === 'var' && !env.has(left.name) && isDeterministic(right, env)) {
          const d = direct(this, right, env);
          if (d !== ITER) {
            if (d === undefined) return false;
            env.set(left.name, d);
            const r = k();
            env.delete(left.name);
            return r;
          }
        }
        return this.unifyTerms(left, right, env, k);
      }
      case 'some':
        return k();
      case 'somein':
        return this.evalTerm(e.domain, env, (coll) =>
          someEntry(coll, (key, val) =>
            this.unifyValue(e.value, val, env, () =>
              e.key ? this.unifyValue(e.key, key, env, k) : k(),
            ),
          ),
        );
      case 'every':
        return this.evalEvery(e, env, k);
      case 'not': {
        const inner = e.expr;
        const found =
          inner.with.length > 0
            ? evalWith(this, inner, env, () => true)
            : this.evalExpr(inner, env, () => true);
        return found ? false : k();
      }
    }
  }

  private evalEvery(e: Extract<Expr, { type: 'every' }>, env: Env, k: Cont): boolean {
    const seen = { iterable: false };
    const failed = this.evalTerm(e.domain, env, (coll) => {
      seen.iterable = isCollection(coll);
      return someEntry(coll, (key, val) => {
        const prevV = env.get(e.value.name);
        env.set(e.value.name, val);
        if (e.key) env.set(e.key.name, key);
        const found = this.evalBody(e.body, 0, env, () => true);
        if (e.key) env.delete(e.key.name);
        if (prevV === undefined) env.delete(e.value.name);
        else env.set(e.value.name, prevV);
        return !found;
      });
    });
    return !failed && seen.iterable ? k() : false;
  }

  /** The first value of a term, or undefined. */
  firstValue(t: Term, env: Env): RegoValue | undefined {
    const box: { v?: RegoValue } = {};
    this.evalTerm(t, env, (v) => {
      box.v = v;
      return true;
    });
    return box.v;
  }

  evalTerm(t: Term, env: Env, k: ValueCont): boolean {
    if (t.type === 'scalar') return k(t.value);
    if ((t.type === 'ref' || t.type === 'call') && isDeterministic(t, env)) {
      const d = direct(this, t, env);
      if (d !== ITER) return d === undefined ? false : k(d);
    }
    const c = t.type === 'var' || t.type === 'ref' || t.type === 'call' ? undefined : constOf(t);
    if (c !== undefined) return k(c);
    switch (t.type) {
      case 'var': {
        const v = env.get(t.name);
        if (v !== undefined) return k(v);
        if (t.name === 'input') return this.st.input === undefined ? false : k(this.st.input);
        if (t.name === 'data') {
          const d = this.materialize(this.opts.root, this.st.data, this.st.overrides);
          return d === undefined ? false : k(d);
        }
        return false;
      }
      case 'ref':
        return this.evalRef(t, env, k);
      case 'array':
        return this.evalList(t.items, 0, [], env, (xs) => k(xs));
      case 'set':
        return this.evalList(t.items, 0, [], env, (xs) => k(RegoSet.of(xs)));
      case 'object': {
        const flat = t.entries.flat();
        return this.evalList(flat, 0, [], env, (xs) => {
          const o = new RegoObject();
          for (let i = 0; i < xs.length; i += 2) o.set(xs[i] as RegoValue, xs[i + 1] as RegoValue);
          return k(o);
        });
      }
      case 'call':
        return this.evalCall(t, env, k);
      case 'arraycompr': {
        const out: RegoValue[] = [];
        this.evalBody(t.body, 0, env, () =>
          this.evalTerm(t.head, env, (v) => (out.push(v), false)),
        );
        return k(out);
      }
      case 'setcompr': {
        const out = new RegoSet();
        this.evalBody(t.body, 0, env, () => this.evalTerm(t.head, env, (v) => (out.add(v), false)));
        return k(out);
      }
      case 'objcompr': {
        const out = new RegoObject();
        this.evalBody(t.body, 0, env, () =>
          this.evalTerm(t.key, env, (kv) =>
            this.evalTerm(t.value, env, (vv) => {
              const prev = out.get(kv);
              if (prev !== undefined && !equal(prev, vv))
                throw conflictError(t.loc, 'object keys must be unique');
              out.set(kv, vv);
              return false;
            }),
          ),
        );
        return k(out);
      }
    }
  }

  evalList(
    items: readonly Term[],
    i: number,
    acc: RegoValue[],
    env: Env,
    k: (xs: RegoValue[]) => boolean,
  ): boolean {
    if (i === items.length) return k(acc.slice());
    return this.evalTerm(items[i] as Term, env, (v) => {
      acc[i] = v;
      return this.evalList(items, i + 1, acc, env, k);
    });
  }

  private evalRef(t: RefTerm, env: Env, k: ValueCont): boolean {
    const head = t.head;
    if (head.type === 'var') {
      const v = env.get(head.name);
      if (v !== undefined) return this.walkValue(v, t.path, 0, env, k);
      if (head.name === 'data') {
        return this.walkData(this.opts.root, this.st.data, this.st.overrides, t.path, 0, env, k);
      }
      if (head.name === 'input') {
        return this.st.input === undefined
          ? false
          : this.walkValue(this.st.input, t.path, 0, env, k);
      }
      return false;
    }
    return this.evalTerm(head, env, (v) => this.walkValue(v, t.path, 0, env, k));
  }

  walkValue(v: RegoValue, path: readonly Term[], i: number, env: Env, k: ValueCont): boolean {
    let cur = v;
    for (;;) {
      if (i === path.length) return k(cur);
      const kt = path[i] as Term;
      if (kt.type === 'scalar') {
        const c = lookup(cur, kt.value);
        if (c === undefined) return false;
        cur = c;
        i++;
        continue;
      }
      if (kt.type === 'var' && env.has(kt.name)) {
        const c = lookup(cur, env.get(kt.name) as RegoValue);
        if (c === undefined) return false;
        cur = c;
        i++;
        continue;
      }
      break;
    }
    const kt = path[i] as Term;
    const j = i + 1;
    const base = cur;
    if (!needsPattern(kt, env)) {
      return this.evalTerm(kt, env, (key) => {
        const c = lookup(base, key);
        return c === undefined ? false : this.walkValue(c, path, j, env, k);
      });
    }
    return someEntry(base, (key, child) =>
      this.unifyValue(kt, key, env, () => this.walkValue(child, path, j, env, k)),
    );
  }

  walkData(
    node: DataNode | undefined,
    base: RegoValue | undefined,
    ov: Override | undefined,
    path: readonly Term[],
    i: number,
    env: Env,
    k: ValueCont,
  ): boolean {
    if (ov?.value !== undefined) return this.walkValue(ov.value, path, i, env, k);
    if (node?.group) {
      if (node.group.kind === 'function') return false;
      let v = this.groupValue(node.group);
      if (v === undefined) return false;
      if (ov) v = applyOverrides(v, ov);
      return this.walkValue(v, path, i, env, k);
    }
    if (!node && !ov) return base === undefined ? false : this.walkValue(base, path, i, env, k);
    if (i === path.length) {
      const m = this.materialize(node, base, ov);
      return m === undefined ? false : k(m);
    }
    const kt = path[i] as Term;
    const step = (key: RegoValue): boolean => {
      const childBase = lookup(base, key);
      if (typeof key === 'string') {
        const child = node?.children.get(key);
        const cov = ov?.children.get(key);
        if (child || cov) return this.walkData(child, childBase, cov, path, i + 1, env, k);
      }
      return childBase === undefined ? false : this.walkValue(childBase, path, i + 1, env, k);
    };
    if (!needsPattern(kt, env)) return this.evalTerm(kt, env, step);
    const names = new Set<RegoValue>();
    if (node) for (const n of node.children.keys()) names.add(n);
    if (ov) for (const n of ov.children.keys()) names.add(n);
    if (base !== undefined) for (const [key] of entriesOf(base)) names.add(key);
    for (const name of names) {
      if (this.unifyValue(kt, name, env, () => step(name))) return true;
    }
    return false;
  }

  materialize(
    node: DataNode | undefined,
    base: RegoValue | undefined,
    ov: Override | undefined,
  ): RegoValue | undefined {
    if (ov?.value !== undefined) return ov.value;
    if (node?.group) {
      if (node.group.kind === 'function') return undefined;
      const v = this.groupValue(node.group);
      return ov && v !== undefined ? applyOverrides(v, ov) : v;
    }
    if (!node) return ov ? applyOverrides(base, ov) : base;
    const obj = base instanceof RegoObject ? base.clone() : new RegoObject();
    for (const [name, child] of node.children) {
      const v = this.materialize(child, lookup(base, name), ov?.children.get(name));
      if (v !== undefined) obj.set(name, v);
    }
    if (ov) {
      for (const [name, c] of ov.children)
        if (!node.children.has(name)) obj.set(name, applyOverrides(obj.get(name), c));
    }
    return obj;
  }

  groupValue(g: RuleGroup): RegoValue | undefined {
    return groupValue(this, g);
  }

  collectSingle(
    g: RuleGroup,
    args: RegoValue[] | undefined,
    conflict: string,
  ): RegoValue | undefined {
    return collectSingle(this, g, args, conflict);
  }

  directCall(t: CallTerm, env: Env): Direct {
    return directCall(this, t, env);
  }

  evalCall(t: CallTerm, env: Env, k: ValueCont): boolean {
    return evalCall(this, t, env, k);
  }

  unifyTerms(a: Term, b: Term, env: Env, k: Cont): boolean {
    if (!needsPattern(a, env)) return this.evalTerm(a, env, (va) => this.unifyValue(b, va, env, k));
    if (!needsPattern(b, env)) return this.evalTerm(b, env, (vb) => this.unifyValue(a, vb, env, k));
    if (a.type === 'array' && b.type === 'array' && a.items.length === b.items.length) {
      const step = (i: number): boolean =>
        i === a.items.length
          ? k()
          : this.unifyTerms(a.items[i] as Term, b.items[i] as Term, env, () => step(i + 1));
      return step(0);
    }
    if (a.type === 'object' && b.type === 'object' && a.entries.length === b.entries.length) {
      return this.unifyObjectTerms(a.entries, b.entries, 0, env, k);
    }
    return false;
  }

  private unifyObjectTerms(
    a: readonly [Term, Term][],
    b: readonly [Term, Term][],
    i: number,
    env: Env,
    k: Cont,
  ): boolean {
    if (i === a.length) return k();
    const [ka, va] = a[i] as [Term, Term];
    return this.evalTerm(ka, env, (key) => {
      for (const [kb, vb] of b) {
        const kv = this.firstValue(kb, env);
        if (kv !== undefined && equal(kv, key))
          return this.unifyTerms(va, vb, env, () => this.unifyObjectTerms(a, b, i + 1, env, k));
      }
      return false;
    });
  }

  unifyValue(p: Term, v: RegoValue, env: Env, k: Cont): boolean {
    switch (p.type) {
      case 'var': {
        const cur = env.get(p.name);
        if (cur !== undefined) return equal(cur, v) ? k() : false;
        if (p.name === 'input' || p.name === 'data') break;
        env.set(p.name, v);
        const r = k();
        env.delete(p.name);
        return r;
      }
      case 'scalar':
        return equal(p.value, v) ? k() : false;
      case 'array': {
        if (!Array.isArray(v) || v.length !== p.items.length) return false;
        const arr = v as RegoValue[];
        const step = (i: number): boolean =>
          i === arr.length
            ? k()
            : this.unifyValue(p.items[i] as Term, arr[i] as RegoValue, env, () => step(i + 1));
        return step(0);
      }
      case 'object': {
        if (!(v instanceof RegoObject) || v.size !== p.entries.length) return false;
        const step = (i: number): boolean => {
          if (i === p.entries.length) return k();
          const [kt, vt] = p.entries[i] as [Term, Term];
          return this.evalTerm(kt, env, (key) => {
            const child = v.get(key);
            return child === undefined ? false : this.unifyValue(vt, child, env, () => step(i + 1));
          });
        };
        return step(0);
      }
      case 'ref':
      case 'set':
      case 'call':
      case 'arraycompr':
      case 'setcompr':
      case 'objcompr':
        break;
    }
    return this.evalTerm(p, env, (pv) => (equal(pv, v) ? k() : false));
  }
}
