import type { CallTerm, Term } from './ast.js';
import type { RuleGroup } from './compile.js';
import {
  BuiltinFailure,
  builtinError,
  compileError,
  RegoError,
  typeError,
  type Location,
} from './errors.js';
import { direct, isDeterministic, ITER, type Direct } from './eval-direct.js';
import type { Mock } from './eval-state.js';
import { collectSingle } from './eval-rules.js';
import { findNode } from './eval-state.js';
import type { Env, Evaluator, ValueCont } from './eval.js';
import type { BuiltinDef } from './builtins/types.js';
import { formatPrintArg } from './format.js';
import type { RegoValue } from './value.js';

interface CallTarget {
  readonly name: string;
  readonly group: RuleGroup | undefined;
  readonly builtin: BuiltinDef | undefined;
  readonly arity: number;
}

/** Cached on a call that names neither a builtin nor a function (print, mock-only names). */
const NO_TARGET = Symbol('no target');

function resolveTarget(ev: Evaluator, t: CallTerm): CallTarget | undefined {
  const cached = t.resolved as CallTarget | typeof NO_TARGET | undefined;
  if (cached === NO_TARGET) return undefined;
  if (cached) return cached;
  const name = t.fn.join('.');
  let target: CallTarget | undefined;
  if (t.fn[0] === 'data') {
    const group = findNode(ev.opts.root, t.fn.slice(1))?.group;
    if (group?.kind === 'function')
      target = { name, group, builtin: undefined, arity: group.arity };
  } else {
    const builtin = ev.opts.builtins.get(name);
    if (builtin) target = { name, group: undefined, builtin, arity: builtin.arity };
  }
  t.resolved = target ?? NO_TARGET;
  return target;
}

/** A call whose arguments are all bound, evaluated without continuations. */
export function directCall(ev: Evaluator, t: CallTerm, env: Env): Direct {
  const target = resolveTarget(ev, t);
  if (!target || t.args.length !== target.arity) return ITER;
  if (target.builtin?.multi === true) return ITER;
  if (ev.st.mocks.size > 0 && ev.st.mocks.has(target.name)) return ITER;
  const args: RegoValue[] = [];
  for (const a of t.args) {
    const v = direct(ev, a, env);
    if (v === undefined || v === ITER) return v;
    args.push(v);
  }
  if (target.group) {
    return collectSingle(
      ev,
      target.group,
      args,
      'functions must not produce multiple outputs for same inputs',
    );
  }
  return callBuiltin(ev, target.name, target.builtin as BuiltinDef, args, t.loc)[0];
}

export function evalCall(ev: Evaluator, t: CallTerm, env: Env, k: ValueCont): boolean {
  if (t.fn.length === 1 && t.fn[0] === 'print') return evalPrint(ev, t, env, k);
  const target = resolveTarget(ev, t);
  const name = target ? target.name : t.fn.join('.');
  const mock = ev.st.mocks.size > 0 ? ev.st.mocks.get(name) : undefined;
  if (!target) {
    if (mock) return callMock(ev, t, mock, env, k, t.args.length);
    throw compileError(t.loc, `rego_type_error: undefined function ${name}`);
  }
  const { group, builtin, arity } = target;
  if (t.args.length !== arity && t.args.length !== arity + 1) {
    throw compileError(
      t.loc,
      `rego_type_error: ${name}: arity mismatch: expected ${arity} arguments, got ${t.args.length}`,
    );
  }
  if (mock) return callMock(ev, t, mock, env, k, arity);
  const invoke = (args: RegoValue[]): RegoValue[] => {
    if (group) {
      const v = collectSingle(
        ev,
        group,
        args,
        'functions must not produce multiple outputs for same inputs',
      );
      return v === undefined ? [] : [v];
    }
    return callBuiltin(ev, name, builtin as BuiltinDef, args, t.loc);
  };
  return finishCall(ev, t, arity, env, k, invoke);
}

function finishCall(
  ev: Evaluator,
  t: CallTerm,
  arity: number,
  env: Env,
  k: ValueCont,
  invoke: (a: RegoValue[]) => RegoValue[],
): boolean {
  const argTerms = t.args.length === arity ? t.args : t.args.slice(0, arity);
  const out = t.args.length === arity ? undefined : (t.args[arity] as Term);
  return ev.evalList(argTerms, 0, [], env, (args) => {
    for (const r of invoke(args)) {
      const stop = out ? ev.unifyValue(out, r, env, () => k(true)) : k(r);
      if (stop) return true;
    }
    return false;
  });
}

function callMock(
  ev: Evaluator,
  t: CallTerm,
  mock: Mock,
  env: Env,
  k: ValueCont,
  arity: number,
): boolean {
  return finishCall(ev, t, arity, env, k, (args) => {
    switch (mock.kind) {
      case 'value':
        return [mock.value];
      case 'group': {
        // a replacement function sees the original functions, not the mocks
        const outer = ev.st;
        ev.st = { ...outer, mocks: new Map(), cache: new Map() };
        try {
          const v = collectSingle(
            ev,
            mock.group,
            args,
            'functions must not produce multiple outputs for same inputs',
          );
          return v === undefined ? [] : [v];
        } finally {
          ev.st = outer;
        }
      }
      case 'builtin': {
        const b = ev.opts.builtins.get(mock.name);
        return b ? callBuiltin(ev, mock.name, b, args, t.loc) : [];
      }
    }
  });
}

export function callBuiltin(
  ev: Evaluator,
  name: string,
  b: BuiltinDef,
  args: RegoValue[],
  loc: Location,
): RegoValue[] {
  try {
    const r = b.fn(args, ev.opts.ctx);
    if (r === undefined) return [];
    return b.multi ? (r as RegoValue[]) : [r];
  } catch (err) {
    if (err instanceof BuiltinFailure) {
      if (!ev.opts.strict) return [];
      throw err.isType
        ? typeError(loc, `${name}: ${err.message}`)
        : builtinError(loc, `${name}: ${err.message}`);
    }
    if (err instanceof RegoError) throw err;
    if (err instanceof RangeError) throw builtinError(loc, `${name}: ${err.message}`);
    throw err;
  }
}

function evalPrint(ev: Evaluator, t: CallTerm, env: Env, k: ValueCont): boolean {
  const sink = ev.opts.print;
  if (!sink) return k(true);
  // `+` builds the line as a rope: printed policy values are not copied unless the line is read
  let line = '';
  for (let i = 0; i < t.args.length; i++) {
    const a = t.args[i] as Term;
    const d = isDeterministic(a, env) ? direct(ev, a, env) : ITER;
    const first = d === ITER ? ev.firstValue(a, env) : d;
    if (i > 0) line += ' ';
    line += first === undefined ? '<undefined>' : formatPrintArg(first);
  }
  sink(line);
  return k(true);
}
