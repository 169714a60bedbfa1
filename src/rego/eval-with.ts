import type { Expr, Term } from './ast.js';
import { compileError } from './errors.js';
import type { Env, Evaluator, Cont } from './eval.js';
import { addOverride, findNode, setPath, type EvalState, type Mock } from './eval-state.js';

/** Dotted name of a var or all-string ref (`count`, `data.x.f`). */
function nameOf(t: Term): string[] | undefined {
  if (t.type === 'var') return [t.name];
  if (t.type !== 'ref' || t.head.type !== 'var') return undefined;
  const out = [t.head.name];
  for (const p of t.path) {
    if (p.type !== 'scalar' || typeof p.value !== 'string') return undefined;
    out.push(p.value);
  }
  return out;
}

/** Evaluates `expr with … as …`: the expression under modified input/data/functions, then k outside. */
export function evalWith(ev: Evaluator, e: Expr, env: Env, k: Cont): boolean {
  let st: EvalState = { ...ev.st, cache: new Map() };
  const mocks = new Map(st.mocks);
  for (const m of e.with) {
    const target = nameOf(m.target);
    if (!target)
      throw compileError(m.loc, 'rego_compile_error: with keyword target must be a reference');
    const mock = mockOf(ev, m.value, env);
    const [root, ...rest] = target;
    if (root === 'input') {
      const v = mock?.kind === 'value' ? mock.value : undefined;
      if (v === undefined) return false;
      st = { ...st, input: setPath(st.input, rest, v) };
      continue;
    }
    if (root === 'data') {
      const node = findNode(ev.opts.root, rest);
      if (node?.group?.kind === 'function') {
        if (!mock) return false;
        mocks.set(target.join('.'), mock);
        continue;
      }
      if (mock?.kind !== 'value') return false;
      st = { ...st, overrides: addOverride(st.overrides, rest, mock.value) };
      continue;
    }
    const name = target.join('.');
    if (!ev.opts.builtins.has(name) && name !== 'print') {
      throw compileError(
        m.loc,
        `rego_compile_error: with keyword target must reference existing input, data, or a function: ${name}`,
      );
    }
    if (!mock) return false;
    mocks.set(name, mock);
  }
  st = { ...st, mocks };
  const outer = ev.st;
  ev.st = st;
  try {
    const inner: Expr = { ...e, with: [] };
    return ev.evalExpr(inner, env, () => {
      ev.st = outer;
      try {
        return k();
      } finally {
        ev.st = st;
      }
    });
  } finally {
    ev.st = outer;
  }
}

function mockOf(ev: Evaluator, t: Term, env: Env): Mock | undefined {
  const name = nameOf(t);
  if (name && !(t.type === 'var' && env.has(t.name))) {
    if (name[0] === 'data') {
      const g = findNode(ev.opts.root, name.slice(1))?.group;
      if (g?.kind === 'function') return { kind: 'group', group: g };
    } else if (name[0] !== 'input' && ev.opts.builtins.has(name.join('.'))) {
      return { kind: 'builtin', name: name.join('.') };
    }
  }
  const v = ev.firstValue(t, env);
  return v === undefined ? undefined : { kind: 'value', value: v };
}
