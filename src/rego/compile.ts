import type {
  ElseClause,
  Expr,
  Module,
  Rule,
  RuleKind,
  Term,
  VarTerm,
  WithModifier,
} from './ast.js';
import { compileError } from './errors.js';
import { reorderBody } from './reorder.js';

/** All rules that define one document (`data.<path>`). */
export interface RuleGroup {
  readonly path: string[];
  readonly kind: RuleKind;
  readonly rules: Rule[];
  defaultRule: Rule | undefined;
  readonly arity: number;
}

/** The package tree: children by name; `group` when a rule defines this node. */
export interface DataNode {
  readonly children: Map<string, DataNode>;
  group: RuleGroup | undefined;
}

export function newNode(): DataNode {
  return { children: new Map(), group: undefined };
}

interface Scope {
  readonly pkg: string[];
  readonly imports: Map<string, string[]>;
  readonly ruleNames: Set<string>;
  locals: Map<string, string>;
  readonly used: Set<string>;
}

/** Builds the rule tree from parsed modules, resolving names to `data` refs. */
export function buildTree(modules: readonly Module[]): DataNode {
  const root = newNode();
  const names = new Map<string, Set<string>>();
  for (const m of modules) {
    const key = m.pkg.join('.');
    const set = names.get(key) ?? new Set<string>();
    for (const r of m.rules) set.add(r.path[m.pkg.length] ?? '');
    names.set(key, set);
  }
  for (const m of modules) {
    const imports = new Map<string, string[]>();
    for (const imp of m.imports) if (imp.alias !== '') imports.set(imp.alias, imp.path);
    const ruleNames = names.get(m.pkg.join('.')) ?? new Set<string>();
    for (const rule of m.rules) {
      const sc: Scope = { pkg: m.pkg, imports, ruleNames, locals: new Map(), used: new Set() };
      addRule(root, resolveRule(rule, sc));
    }
  }
  return root;
}

function addRule(root: DataNode, rule: Rule): void {
  let node = root;
  for (const p of rule.path) {
    let child = node.children.get(p);
    if (!child) {
      child = newNode();
      node.children.set(p, child);
    }
    node = child;
  }
  const g = node.group;
  const arity = rule.args.length;
  if (!g) {
    node.group = {
      path: rule.path,
      kind: rule.kind,
      rules: rule.isDefault ? [] : [rule],
      defaultRule: rule.isDefault ? rule : undefined,
      arity,
    };
    return;
  }
  if (
    g.kind !== rule.kind &&
    !(rule.isDefault && g.kind === 'complete' && rule.kind === 'complete')
  ) {
    throw compileError(rule.loc, `conflicting rules data.${rule.path.join('.')} found`);
  }
  if (g.kind === 'function' && g.arity !== arity) {
    throw compileError(rule.loc, `conflicting rules data.${rule.path.join('.')} found (arity)`);
  }
  if (rule.isDefault) {
    if (g.defaultRule)
      throw compileError(rule.loc, `multiple default rules data.${rule.path.join('.')} found`);
    g.defaultRule = rule;
  } else g.rules.push(rule);
}

function resolveRule(rule: Rule, sc: Scope): Rule {
  const argScope = (): Term[] => rule.args.map((a) => declarePattern(a, sc));
  const args = argScope();
  const top = new Map(sc.locals);
  const argVars = new Set(top.values());
  const body = reorderBody(resolveBody(rule.body, sc), argVars);
  const key = rule.key ? resolveTerm(rule.key, sc) : undefined;
  const value = resolveTerm(rule.value, sc);
  const elses: ElseClause[] = rule.elses.map((e) => {
    sc.locals = new Map(top);
    const eb = reorderBody(resolveBody(e.body, sc), argVars);
    return { value: resolveTerm(e.value, sc), body: eb, loc: e.loc };
  });
  return { ...rule, args, body, key, value, elses };
}

function declare(name: string, sc: Scope): string {
  let n = name;
  if (sc.used.has(n)) {
    let i = 2;
    while (sc.used.has(`${name}$${i}`)) i++;
    n = `${name}$${i}`;
  }
  sc.used.add(n);
  sc.locals.set(name, n);
  return n;
}

/** Declares every variable in a pattern (function args, `:=` left sides, some-in). */
function declarePattern(t: Term, sc: Scope): Term {
  switch (t.type) {
    case 'var':
      return { type: 'var', name: declare(t.name, sc), loc: t.loc };
    case 'array':
      return { ...t, items: t.items.map((x) => declarePattern(x, sc)) };
    case 'object':
      return {
        ...t,
        entries: t.entries.map(([k, v]) => [resolveTerm(k, sc), declarePattern(v, sc)]),
      };
    case 'scalar':
    case 'ref':
    case 'set':
    case 'call':
    case 'arraycompr':
    case 'setcompr':
    case 'objcompr':
      return resolveTerm(t, sc);
  }
}

function resolveBody(body: Expr[], sc: Scope): Expr[] {
  return body.map((e) => resolveExpr(e, sc));
}

function resolveWith(w: WithModifier[], sc: Scope): WithModifier[] {
  return w.map((m) => ({
    target: resolveTerm(m.target, sc),
    value: resolveTerm(m.value, sc),
    loc: m.loc,
  }));
}

function resolveExpr(e: Expr, sc: Scope): Expr {
  const w = resolveWith(e.with, sc);
  switch (e.type) {
    case 'term':
      return { ...e, term: resolveTerm(e.term, sc), with: w };
    case 'unify': {
      const right = resolveTerm(e.right, sc);
      const left = e.op === ':=' ? declarePattern(e.left, sc) : resolveTerm(e.left, sc);
      return { ...e, left, right, with: w };
    }
    case 'some':
      return {
        ...e,
        vars: e.vars.map((v) => ({ type: 'var', name: declare(v.name, sc), loc: v.loc })),
        with: w,
      };
    case 'somein': {
      const domain = resolveTerm(e.domain, sc);
      const key = e.key ? declarePattern(e.key, sc) : undefined;
      return { ...e, domain, key, value: declarePattern(e.value, sc), with: w };
    }
    case 'every': {
      const domain = resolveTerm(e.domain, sc);
      const saved = sc.locals;
      sc.locals = new Map(saved);
      const key = e.key ? (declarePattern(e.key, sc) as VarTerm) : undefined;
      const value = declarePattern(e.value, sc) as VarTerm;
      const body = resolveBody(e.body, sc);
      sc.locals = saved;
      return { ...e, domain, key, value, body, with: w };
    }
    case 'not':
      return { ...e, expr: resolveExpr(e.expr, sc), with: w };
  }
}

function nested<T>(sc: Scope, f: () => T): T {
  const saved = sc.locals;
  sc.locals = new Map(saved);
  try {
    return f();
  } finally {
    sc.locals = saved;
  }
}

function str(s: string, t: Term): Term {
  return { type: 'scalar', value: s, loc: t.loc };
}

function resolveVar(t: VarTerm, sc: Scope): Term {
  const local = sc.locals.get(t.name);
  if (local !== undefined) return local === t.name ? t : { type: 'var', name: local, loc: t.loc };
  if (t.name === 'input' || t.name === 'data') return t;
  const imp = sc.imports.get(t.name);
  if (imp) {
    const head: VarTerm = { type: 'var', name: imp[0] ?? 'data', loc: t.loc };
    return imp.length === 1
      ? head
      : { type: 'ref', head, path: imp.slice(1).map((s) => str(s, t)), loc: t.loc };
  }
  if (sc.ruleNames.has(t.name)) {
    const head: VarTerm = { type: 'var', name: 'data', loc: t.loc };
    return { type: 'ref', head, path: [...sc.pkg, t.name].map((s) => str(s, t)), loc: t.loc };
  }
  return t;
}

function resolveFn(fn: string[], sc: Scope): string[] {
  const [n = '', ...rest] = fn;
  if (sc.locals.has(n)) return fn;
  const imp = sc.imports.get(n);
  if (imp) return [...imp, ...rest];
  if (n === 'data') return fn;
  if (sc.ruleNames.has(n)) return ['data', ...sc.pkg, n, ...rest];
  return fn;
}

export function resolveTerm(t: Term, sc: Scope): Term {
  switch (t.type) {
    case 'scalar':
      return t;
    case 'var':
      return resolveVar(t, sc);
    case 'ref': {
      const head = resolveTerm(t.head, sc);
      const path = t.path.map((p) => resolveTerm(p, sc));
      if (head.type === 'ref')
        return { type: 'ref', head: head.head, path: [...head.path, ...path], loc: t.loc };
      return { type: 'ref', head, path, loc: t.loc };
    }
    case 'array':
      return { ...t, items: t.items.map((x) => resolveTerm(x, sc)) };
    case 'set':
      return { ...t, items: t.items.map((x) => resolveTerm(x, sc)) };
    case 'object':
      return { ...t, entries: t.entries.map(([k, v]) => [resolveTerm(k, sc), resolveTerm(v, sc)]) };
    case 'call':
      return { ...t, fn: resolveFn(t.fn, sc), args: t.args.map((a) => resolveTerm(a, sc)) };
    case 'arraycompr':
    case 'setcompr':
      return nested(sc, () => {
        const body = resolveBody(t.body, sc);
        return { ...t, body, head: resolveTerm(t.head, sc) };
      });
    case 'objcompr':
      return nested(sc, () => {
        const body = resolveBody(t.body, sc);
        return { ...t, body, key: resolveTerm(t.key, sc), value: resolveTerm(t.value, sc) };
      });
  }
}

/** Resolves a query body (no package, no rules in scope except through `data`). */
export function resolveQuery(body: Expr[]): Expr[] {
  const sc: Scope = {
    pkg: [],
    imports: new Map(),
    ruleNames: new Set(),
    locals: new Map(),
    used: new Set(),
  };
  return reorderBody(resolveBody(body, sc), new Set());
}
