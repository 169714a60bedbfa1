import type { Expr, Rule, Term } from './ast.js';
import type { RuleGroup } from './compile.js';
import { equal } from './compare.js';
import { compileError, conflictError } from './errors.js';
import { BUSY, UNDEF } from './eval-state.js';
import type { Cont, Env, Evaluator } from './eval.js';
import { callKey } from './shared-values.js';
import { constOf } from './term-info.js';
import { RegoObject, RegoSet, type RegoValue } from './value.js';

const MAX_DEPTH = 400;

function producesOnly(r: Rule, v: RegoValue): boolean {
  const c = constOf(r.value);
  if (c === undefined || !equal(c, v)) return false;
  return r.elses.every((e) => {
    const ce = constOf(e.value);
    return ce !== undefined && equal(ce, v);
  });
}

export function groupValue(ev: Evaluator, g: RuleGroup): RegoValue | undefined {
  const c = ev.st.cache.get(g);
  if (c === BUSY)
    throw compileError(
      g.rules[0]?.loc,
      `rego_recursion_error: rule data.${g.path.join('.')} is recursive`,
    );
  if (c !== undefined) return c === UNDEF ? undefined : c;
  const shared = ev.sharedFor(g);
  const s = shared?.rule(g);
  if (s !== undefined) {
    ev.st.cache.set(g, s);
    return s === UNDEF ? undefined : s;
  }
  ev.st.cache.set(g, BUSY);
  let v: RegoValue | undefined;
  try {
    v = computeGroup(ev, g);
  } catch (err) {
    ev.st.cache.delete(g);
    throw err;
  }
  ev.st.cache.set(g, v === undefined ? UNDEF : v);
  shared?.setRule(g, v);
  return v;
}

function computeGroup(ev: Evaluator, g: RuleGroup): RegoValue | undefined {
  switch (g.kind) {
    case 'complete':
      return collectSingle(ev, g, undefined, 'complete rules must not produce multiple outputs');
    case 'function':
      return undefined;
    case 'set': {
      const out = new RegoSet();
      for (const r of g.rules) {
        const env: Env = new Map();
        ev.evalBody(r.body, 0, env, () =>
          ev.evalTerm(r.key as Term, env, (v) => (out.add(v), false)),
        );
      }
      return out;
    }
    case 'object': {
      const out = new RegoObject();
      for (const r of g.rules) {
        const env: Env = new Map();
        ev.evalBody(r.body, 0, env, () =>
          ev.evalTerm(r.key as Term, env, (kv) =>
            ev.evalTerm(r.value, env, (vv) => {
              const prev = out.get(kv);
              if (prev !== undefined && !equal(prev, vv))
                throw conflictError(r.loc, 'object keys must be unique');
              out.set(kv, vv);
              return false;
            }),
          ),
        );
      }
      return out;
    }
  }
}

/** Complete rules and functions: every clause, else chains, conflicts, default. */
export function collectSingle(
  ev: Evaluator,
  g: RuleGroup,
  args: RegoValue[] | undefined,
  conflict: string,
): RegoValue | undefined {
  const shared = args === undefined ? undefined : ev.sharedFor(g);
  const key = shared && args ? callKey(args) : undefined;
  if (shared === undefined || key === undefined) return collectClauses(ev, g, args, conflict);
  const hit = shared.call(g, key);
  if (hit !== undefined) return hit === UNDEF ? undefined : hit;
  const v = collectClauses(ev, g, args, conflict);
  shared.setCall(g, key, v);
  return v;
}

function collectClauses(
  ev: Evaluator,
  g: RuleGroup,
  args: RegoValue[] | undefined,
  conflict: string,
): RegoValue | undefined {
  let result: RegoValue | undefined;
  for (const r of g.rules) {
    // early exit (as OPA): a clause whose every value is the constant already found cannot conflict
    if (result !== undefined && producesOnly(r, result)) continue;
    evalClauses(ev, r, args, (v) => {
      if (result === undefined) result = v;
      else if (!equal(result, v)) throw conflictError(r.loc, conflict);
    });
  }
  if (result === undefined && g.defaultRule) {
    const d = g.defaultRule;
    bindArgs(ev, d.args, args, 0, new Map(), () => {
      const env: Env = new Map();
      return ev.evalTerm(d.value, env, (v) => ((result = v), true));
    });
  }
  return result;
}

function evalClauses(
  ev: Evaluator,
  r: Rule,
  args: RegoValue[] | undefined,
  emit: (v: RegoValue) => void,
): void {
  if (++ev.depth > MAX_DEPTH) {
    ev.depth = 0;
    throw compileError(
      r.loc,
      'rego_recursion_error: evaluation too deep (recursive rule or function?)',
    );
  }
  try {
    const state = { produced: false };
    const run = (body: readonly Expr[], value: Term): void => {
      const env: Env = new Map();
      const isConst = constOf(value) !== undefined;
      bindArgs(ev, r.args, args, 0, env, () =>
        ev.evalBody(body, 0, env, () =>
          ev.evalTerm(value, env, (v) => {
            state.produced = true;
            emit(v);
            return isConst;
          }),
        ),
      );
    };
    run(r.body, r.value);
    for (const e of r.elses) {
      if (state.produced) break;
      run(e.body, e.value);
    }
  } finally {
    ev.depth--;
  }
}

/**
 * Binds arguments; plain variable patterns (the usual case) without a continuation each. At
 * `i = 0` the env is the clause's fresh one (dropped afterwards), so those bindings need no undo.
 */
function bindArgs(
  ev: Evaluator,
  pats: readonly Term[],
  args: RegoValue[] | undefined,
  i: number,
  env: Env,
  k: Cont,
): boolean {
  if (args === undefined) return k();
  const start = i;
  let bound: string[] | undefined;
  let ok = true;
  for (; i < pats.length; i++) {
    const p = pats[i] as Term;
    if (p.type !== 'var' || p.name === 'input' || p.name === 'data') break;
    const a = args[i] as RegoValue;
    const cur = env.get(p.name);
    if (cur === undefined) {
      env.set(p.name, a);
      if (start > 0) (bound ??= []).push(p.name);
    } else if (!equal(cur, a)) {
      ok = false;
      break;
    }
  }
  try {
    if (!ok) return false;
    if (i === pats.length) return k();
    return ev.unifyValue(pats[i] as Term, args[i] as RegoValue, env, () =>
      bindArgs(ev, pats, args, i + 1, env, k),
    );
  } finally {
    if (bound) for (const n of bound) env.delete(n);
  }
}
