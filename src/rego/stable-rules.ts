import type { Expr, Rule, Term } from './ast.js';
import type { BuiltinDef } from './builtins/types.js';
import type { DataNode, RuleGroup } from './compile.js';
import { findNode } from './eval-state.js';

/**
 * Builtins whose result is not a function of their operands (clock, randomness, network, the
 * runtime) or that have an effect (print, trace). A rule that reaches one is never shared
 * between evaluations. Whole namespaces are listed so a builtin added later stays out too.
 */
const IMPURE_NAMES = new Set(['print', 'trace', 'opa.runtime']);
const IMPURE_PREFIXES = ['time.', 'rand.', 'uuid.', 'http.', 'net.', 'io.jwt.', 'crypto.x509.'];

export function isImpureBuiltin(name: string): boolean {
  return IMPURE_NAMES.has(name) || IMPURE_PREFIXES.some((p) => name.startsWith(p));
}

/**
 * The rule groups whose value (for functions: whose value for given arguments) is the same in
 * every evaluation of this policy: they read neither `input` nor base documents under `data`
 * (only other such rules), use no `with`, and reach no impure builtin or print(). A group in a
 * recursion cycle is not stable (recursion is an evaluation error anyway).
 */
export function stableGroups(
  root: DataNode,
  builtins: ReadonlyMap<string, BuiltinDef>,
): ReadonlySet<RuleGroup> {
  const verdict = new Map<RuleGroup, boolean>();
  const visit = (g: RuleGroup): boolean => {
    const known = verdict.get(g);
    if (known !== undefined) return known;
    verdict.set(g, false); // while visiting: a cycle back to g is not stable
    const rules = g.defaultRule ? [...g.rules, g.defaultRule] : g.rules;
    const ok = rules.every((r) => isStableRule(r, root, builtins, visit));
    verdict.set(g, ok);
    return ok;
  };
  const out = new Set<RuleGroup>();
  const walk = (n: DataNode): void => {
    if (n.group && visit(n.group)) out.add(n.group);
    for (const c of n.children.values()) walk(c);
  };
  walk(root);
  return out;
}

type Visit = (g: RuleGroup) => boolean;

function isStableRule(
  r: Rule,
  root: DataNode,
  builtins: ReadonlyMap<string, BuiltinDef>,
  visit: Visit,
): boolean {
  const term = (t: Term): boolean => isStableTerm(t, root, builtins, visit);
  const body = (b: readonly Expr[]): boolean =>
    b.every((e) => isStableExpr(e, root, builtins, visit));
  return (
    r.args.every(term) &&
    (r.key === undefined || term(r.key)) &&
    term(r.value) &&
    body(r.body) &&
    r.elses.every((e) => term(e.value) && body(e.body))
  );
}

function isStableExpr(
  e: Expr,
  root: DataNode,
  builtins: ReadonlyMap<string, BuiltinDef>,
  visit: Visit,
): boolean {
  if (e.with.length > 0) return false;
  const term = (t: Term): boolean => isStableTerm(t, root, builtins, visit);
  switch (e.type) {
    case 'term':
      return term(e.term);
    case 'unify':
      return term(e.left) && term(e.right);
    case 'some':
      return e.vars.every(term);
    case 'somein':
      return (e.key === undefined || term(e.key)) && term(e.value) && term(e.domain);
    case 'every':
      return (
        (e.key === undefined || term(e.key)) &&
        term(e.value) &&
        term(e.domain) &&
        e.body.every((x) => isStableExpr(x, root, builtins, visit))
      );
    case 'not':
      return isStableExpr(e.expr, root, builtins, visit);
  }
}

function isStableTerm(
  t: Term,
  root: DataNode,
  builtins: ReadonlyMap<string, BuiltinDef>,
  visit: Visit,
): boolean {
  const term = (x: Term): boolean => isStableTerm(x, root, builtins, visit);
  const body = (b: readonly Expr[]): boolean =>
    b.every((e) => isStableExpr(e, root, builtins, visit));
  switch (t.type) {
    case 'scalar':
      return true;
    case 'var':
      return t.name !== 'input' && t.name !== 'data';
    case 'ref':
      if (t.head.type === 'var' && t.head.name === 'data')
        return isStableDataRef(t.path, root, term, visit);
      return term(t.head) && t.path.every(term);
    case 'array':
    case 'set':
      return t.items.every(term);
    case 'object':
      return t.entries.every(([k, v]) => term(k) && term(v));
    case 'call':
      return isStableCall(t.fn, root, builtins, visit) && t.args.every(term);
    case 'arraycompr':
    case 'setcompr':
      return body(t.body) && term(t.head);
    case 'objcompr':
      return body(t.body) && term(t.key) && term(t.value);
  }
}

/** `data.a.b…`: stable when constant names lead to a stable rule (not to base documents). */
function isStableDataRef(
  path: readonly Term[],
  root: DataNode,
  term: (t: Term) => boolean,
  visit: Visit,
): boolean {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    const p = path[i] as Term;
    if (p.type !== 'scalar' || typeof p.value !== 'string') return false;
    const child = node.children.get(p.value);
    if (!child) return false;
    if (child.group) return visit(child.group) && path.slice(i + 1).every(term);
    node = child;
  }
  return false; // a package (or all of data): merged with base documents
}

function isStableCall(
  fn: readonly string[],
  root: DataNode,
  builtins: ReadonlyMap<string, BuiltinDef>,
  visit: Visit,
): boolean {
  if (fn[0] === 'data') {
    const g = findNode(root, fn.slice(1))?.group;
    return g?.kind === 'function' && visit(g);
  }
  const name = fn.join('.');
  return builtins.has(name) && !isImpureBuiltin(name);
}
