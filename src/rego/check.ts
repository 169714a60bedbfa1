import type { Expr, Rule, Term } from './ast.js';
import type { BuiltinDef } from './builtins/types.js';
import type { DataNode } from './compile.js';
import { compileError } from './errors.js';
import { findNode } from './eval-state.js';

function termCalls(t: Term, visit: (t: Term) => void): void {
  visit(t);
  switch (t.type) {
    case 'ref':
      termCalls(t.head, visit);
      for (const p of t.path) termCalls(p, visit);
      return;
    case 'call':
      for (const a of t.args) termCalls(a, visit);
      return;
    case 'array':
    case 'set':
      for (const x of t.items) termCalls(x, visit);
      return;
    case 'object':
      for (const [k, v] of t.entries) {
        termCalls(k, visit);
        termCalls(v, visit);
      }
      return;
    case 'arraycompr':
    case 'setcompr':
      termCalls(t.head, visit);
      bodyCalls(t.body, visit);
      return;
    case 'objcompr':
      termCalls(t.key, visit);
      termCalls(t.value, visit);
      bodyCalls(t.body, visit);
      return;
    case 'scalar':
    case 'var':
      return;
  }
}

function bodyCalls(body: readonly Expr[], visit: (t: Term) => void): void {
  for (const e of body) {
    for (const w of e.with) termCalls(w.value, visit);
    switch (e.type) {
      case 'term':
        termCalls(e.term, visit);
        break;
      case 'unify':
        termCalls(e.left, visit);
        termCalls(e.right, visit);
        break;
      case 'somein':
        termCalls(e.domain, visit);
        break;
      case 'every':
        termCalls(e.domain, visit);
        bodyCalls(e.body, visit);
        break;
      case 'not':
        bodyCalls([e.expr], visit);
        break;
      case 'some':
        break;
    }
  }
}

/** Every call names an existing function or builtin with a fitting number of arguments. */
export function checkCalls(
  rules: Iterable<Rule>,
  root: DataNode,
  builtins: ReadonlyMap<string, BuiltinDef>,
): void {
  const visit = (t: Term): void => {
    if (t.type !== 'call') return;
    const name = t.fn.join('.');
    if (name === 'print') return;
    let arity: number | undefined;
    if (t.fn[0] === 'data') {
      const g = findNode(root, t.fn.slice(1))?.group;
      arity = g?.kind === 'function' ? g.arity : undefined;
    } else {
      arity = builtins.get(name)?.arity;
    }
    if (arity === undefined)
      throw compileError(t.loc, `rego_type_error: undefined function ${name}`);
    if (t.args.length !== arity && t.args.length !== arity + 1) {
      throw compileError(
        t.loc,
        `rego_type_error: ${name}: arity mismatch: expected ${arity} arguments, got ${t.args.length}`,
      );
    }
  };
  for (const r of rules) {
    bodyCalls(r.body, visit);
    termCalls(r.value, visit);
    if (r.key) termCalls(r.key, visit);
    for (const e of r.elses) {
      bodyCalls(e.body, visit);
      termCalls(e.value, visit);
    }
  }
}
