import type { Expr, Term } from './ast.js';

const ROOTS = new Set(['input', 'data']);

/**
 * The variables of a term outside comprehension bodies. `refPaths` false: only what must be bound
 * before the term can be evaluated (a ref's path keys can be iterated, so they are left out);
 * true: every variable, i.e. what evaluating it may bind.
 */
function termVars(t: Term, out: Set<string>, refPaths: boolean): Set<string> {
  switch (t.type) {
    case 'var':
      if (!ROOTS.has(t.name)) out.add(t.name);
      break;
    case 'ref':
      termVars(t.head, out, refPaths);
      if (refPaths) for (const p of t.path) termVars(p, out, refPaths);
      break;
    case 'call':
      for (const a of t.args) termVars(a, out, refPaths);
      break;
    case 'array':
    case 'set':
      for (const x of t.items) termVars(x, out, refPaths);
      break;
    case 'object':
      for (const [k, v] of t.entries) {
        termVars(k, out, refPaths);
        termVars(v, out, refPaths);
      }
      break;
    case 'scalar':
    case 'arraycompr':
    case 'setcompr':
    case 'objcompr':
      break;
  }
  return out;
}

/** Variables that must be bound before the term can be evaluated (ref keys can be iterated). */
function needed(t: Term, out: Set<string>): Set<string> {
  return termVars(t, out, false);
}

/** Every variable of a term outside comprehension bodies (what evaluating it may bind). */
function varsIn(t: Term, out: Set<string>): Set<string> {
  return termVars(t, out, true);
}

function subset(a: Set<string>, safe: ReadonlySet<string>): boolean {
  for (const v of a) if (!safe.has(v)) return false;
  return true;
}

function isSafe(e: Expr, safe: ReadonlySet<string>, elsewhere: ReadonlySet<string>): boolean {
  for (const w of e.with) if (!subset(needed(w.value, new Set()), safe)) return false;
  switch (e.type) {
    case 'term': {
      const t = e.term;
      // a call's extra (output) argument is a pattern; needed() over-approximates it as input
      if (t.type === 'call')
        return (
          subset(needed({ ...t, args: t.args.slice(0, -1) }, new Set()), safe) ||
          subset(needed(t, new Set()), safe)
        );
      return subset(needed(t, new Set()), safe);
    }
    case 'unify':
      return subset(needed(e.right, new Set()), safe) || subset(needed(e.left, new Set()), safe);
    case 'some':
      return true;
    case 'somein':
      return subset(needed(e.domain, new Set()), safe);
    case 'every':
      return subset(needed(e.domain, new Set()), safe);
    case 'not': {
      const inner = exprVars(e.expr);
      for (const v of inner) if (elsewhere.has(v) && !safe.has(v)) return false;
      return true;
    }
  }
}

function exprVars(e: Expr): Set<string> {
  const out = new Set<string>();
  switch (e.type) {
    case 'term':
      varsIn(e.term, out);
      break;
    case 'unify':
      varsIn(e.left, out);
      varsIn(e.right, out);
      break;
    case 'somein':
      if (e.key) varsIn(e.key, out);
      varsIn(e.value, out);
      varsIn(e.domain, out);
      break;
    case 'every':
      varsIn(e.domain, out);
      break;
    case 'not':
      for (const v of exprVars(e.expr)) out.add(v);
      break;
    case 'some':
      break;
  }
  return out;
}

/**
 * Orders a body so every expression runs after the expressions binding its inputs, as OPA's
 * compiler does. Stable: an expression moves only when it could not run where it is written.
 */
export function reorderBody(body: readonly Expr[], initiallySafe: ReadonlySet<string>): Expr[] {
  const remaining = [...body];
  const out: Expr[] = [];
  const safe = new Set(initiallySafe);
  const varsOf = remaining.map(exprVars);
  while (remaining.length > 0) {
    const idx = remaining.findIndex((e, i) => {
      const elsewhere = new Set<string>();
      varsOf.forEach((vs, j) => {
        if (j !== i) for (const v of vs) elsewhere.add(v);
      });
      return isSafe(e, safe, elsewhere);
    });
    if (idx < 0) {
      out.push(...remaining);
      break;
    }
    const [e] = remaining.splice(idx, 1) as [Expr];
    const [vs] = varsOf.splice(idx, 1) as [Set<string>];
    out.push(e);
    if (e.type !== 'not' && e.type !== 'every') for (const v of vs) safe.add(v);
  }
  return out;
}
