import { describe, expect, test } from 'vitest';
import { compileModules, RegoError, type EvaluateOptions } from '#src/rego/index.js';

function evalRego(text: string, query: string, opts: EvaluateOptions = {}): unknown {
  return compileModules([{ path: 'p.rego', text: `package t\n${text}` }]).evaluate(query, opts)
    .value;
}

function errorOf(f: () => unknown): RegoError {
  try {
    f();
  } catch (err) {
    if (err instanceof RegoError) return err;
    throw err;
  }
  throw new Error('expected a RegoError');
}

describe('compileModules / CompiledPolicy.evaluate', () => {
  test.each([
    ['complete rule', 'p := 1 + 2', 'data.t.p', 3],
    ['partial set', 'p contains x if { some x in [3, 1, 2]; x > 1 }', 'data.t.p', [2, 3]],
    [
      'partial object',
      'p[k] := v if { some k, v in {"a": 1, "b": 2} }',
      'data.t.p',
      { a: 1, b: 2 },
    ],
    [
      'function with clauses',
      'f(x) := "neg" if x < 0\nf(x) := "pos" if x > 0\np := [f(-1), f(1)]',
      'data.t.p',
      ['neg', 'pos'],
    ],
    ['else chain', 'p := 1 if false\nelse := 2 if false\nelse := 3', 'data.t.p', 3],
    ['default rule', 'default p := "no"\np := "yes" if input.ok', 'data.t.p', 'no'],
    ['every', 'p if every x in [1, 2] { x > 0 }', 'data.t.p', true],
    ['not', 'p if not input.x', 'data.t.p', true],
    [
      'comprehensions',
      'p := {"a": [x | some x in [1, 2]], "s": count({x | some x in [1, 1]})}',
      'data.t.p',
      { a: [1, 2], s: 1 },
    ],
    ['with input', 'q if input.x == 1\np if q with input.x as 1', 'data.t.p', true],
    ['with data', 'q := data.d.v\np := x if x := q with data.d.v as 7', 'data.t.p', 7],
    ['with builtin mock', 'p := x if x := count([1]) with count as 9', 'data.t.p', 9],
    ['ref with variable key', 'p contains k if { data.xs[k].on }', 'data.t.p', ['b']],
    ['big integers stay exact', 'p := 9007199254740993 + 1', 'data.t.p', 9007199254740994],
    ['composite set keys', 'p := {[1, 2]: "a"}[[1, 2]]', 'data.t.p', 'a'],
    [
      'sets order as Rego does',
      'p := sort([{"b"}, "a", 1, null, [1], {"k": 1}, true])',
      'data.t.p',
      [null, true, 1, 'a', [1], { k: 1 }, ['b']],
    ],
  ])('evaluates a %s', (_name, text, query, want) => {
    expect(evalRego(text, query, { data: { xs: { a: { on: false }, b: { on: true } } } })).toEqual(
      want,
    );
  });

  test('returns no value for an undefined query', () => {
    expect(evalRego('p if false', 'data.t.p')).toBeUndefined();
  });

  test('returns the whole package as an object, leaving functions out', () => {
    expect(evalRego('a := 1\nf(x) := x\nb if false', 'data.t')).toEqual({ a: 1 });
  });

  test('reports conflicting complete rules as eval_conflict_error', () => {
    const err = errorOf(() => evalRego('p := 1\np := 2', 'data.t.p'));
    expect(err.opaCode).toBe('eval_conflict_error');
    expect(err.message).toContain('complete rules must not produce multiple outputs');
  });

  test('reports a function with two outputs for one input as eval_conflict_error', () => {
    const err = errorOf(() => evalRego('f(_) := 1\nf(_) := 2\np := f(0)', 'data.t.p'));
    expect(err.message).toContain('functions must not produce multiple outputs for same inputs');
  });

  test('makes a failing builtin undefined, or an error in strict mode', () => {
    const text = 'p := to_number("x")';
    expect(evalRego(text, 'data.t.p')).toBeUndefined();
    const err = errorOf(() => evalRego(text, 'data.t.p', { strict: true }));
    expect(err.opaCode).toBe('eval_builtin_error');
    expect(err.message).toMatch(/^p\.rego:2:\d+: eval_builtin_error: to_number: /);
  });

  test('sends print() lines to the sink in OPA formatting', () => {
    const lines: string[] = [];
    evalRego('p if { print("s:", "str", 1, [1, "a"], {"b"}, input.missing) }', 'data.t.p', {
      input: {},
      print: (l) => lines.push(l),
    });
    expect(lines).toEqual(['s: str 1 [1, "a"] {"b"} <undefined>']);
  });

  test('returns print() lines when asked and skips them otherwise', () => {
    const policy = compileModules([{ path: 'p.rego', text: 'package t\np if print("x")' }]);
    expect(policy.evaluate('data.t.p', { capturePrints: true }).prints).toEqual(['x']);
    expect(policy.evaluate('data.t.p').prints).toEqual([]);
  });

  test('prints a value the same way however often it is printed, in every evaluation', () => {
    const text = [
      'package t',
      'cfg := {"m": [{"d": "/a", "o": ["ro"]}, {"d": "/b", "o": []}]}',
      'p contains m.d if {',
      '  some m in cfg.m',
      '  print("m =", m, "i =", input.m)',
      '  print("all", cfg)',
      '}',
    ].join('\n');
    const policy = compileModules([{ path: 'p.rego', text }]);
    const run = (m: unknown): string[] =>
      policy.evaluate('data.t.p', { input: { m }, capturePrints: true }).prints;
    const all = 'all {"m": [{"d": "/a", "o": ["ro"]}, {"d": "/b", "o": []}]}';
    const first = [
      'm = {"d": "/a", "o": ["ro"]} i = [1, {2}]',
      all,
      'm = {"d": "/b", "o": []} i = [1, {2}]',
      all,
    ];
    expect(run([1, new Set([2])])).toEqual(first);
    expect(run([1, new Set([2])])).toEqual(first);
    expect(run({ x: '$&' })).toEqual([
      'm = {"d": "/a", "o": ["ro"]} i = {"x": "$&"}',
      all,
      'm = {"d": "/b", "o": []} i = {"x": "$&"}',
      all,
    ]);
  });

  test('uses the injected clock for time.now_ns', () => {
    expect(evalRego('p := time.now_ns()', 'data.t.p', { now: () => 42n })).toBe(42);
  });

  test('accepts a RefPath query', () => {
    const policy = compileModules([{ path: 'p.rego', text: 'package a.b\nc := "d"' }]);
    expect(policy.evaluate(['a', 'b', 'c']).value).toBe('d');
  });

  test('answers every solution of a query with variables', () => {
    const policy = compileModules([
      { path: 'p.rego', text: 'package t\np contains 1\np contains 2' },
    ]);
    expect(policy.query('data.t.p[x]').rows).toEqual([{ x: 1 }, { x: 2 }]);
  });

  test('reports an undefined function with its location', () => {
    const err = errorOf(() => evalRego('p := nosuch(1)', 'data.t.p'));
    expect(err.message).toContain('p.rego:2:6');
    expect(err.message).toContain('undefined function nosuch');
  });
});

describe('Rego v0 syntax', () => {
  const v0 = (text: string, query: string): unknown =>
    compileModules([{ path: 'v0.rego', text }], { v0: true }).evaluate(query).value;

  test('parses rules without if, p[x] { } partial sets and f(x) = y { } functions', () => {
    const text = 'package t\np[x] { x := [1, 2][_] }\nf(x) = y { y := x * 2 }\nq { f(2) == 4 }';
    expect(v0(text, 'data.t')).toEqual({ p: [1, 2], q: true });
  });

  test('enables keywords through future.keywords imports', () => {
    const text =
      'package t\nimport future.keywords.in\nimport future.keywords.if\np if { 1 in [1] }';
    expect(v0(text, 'data.t.p')).toBe(true);
  });

  test('treats contains as the builtin in v0 without the keyword import', () => {
    expect(v0('package t\np { contains("abc", "b") }', 'data.t.p')).toBe(true);
  });

  test('rejects v0 rule bodies in v1 mode', () => {
    const err = errorOf(() => compileModules([{ path: 'x.rego', text: 'package t\np { true }' }]));
    expect(err.message).toMatch(/^x\.rego:2:3: `if` keyword is required before rule body$/);
  });
});

describe('body ordering', () => {
  test('runs an expression after the later expression that binds its variable, as OPA', () => {
    const text = 'package t\np if { x > 1; x := 2 }\nq := v if { v := w + 1; w := 1 }';
    const policy = compileModules([{ path: 'o.rego', text }]);
    expect(policy.evaluate('data.t').value).toEqual({ p: true, q: 2 });
  });
});

describe('hostile input', () => {
  test('fails a deeply nested input with ERR_REGO_EVAL instead of overflowing the stack', () => {
    let input: unknown = 1;
    for (let i = 0; i < 200_000; i++) input = [input];
    const policy = compileModules([{ path: 'h.rego', text: 'package t\np := count(input)' }]);
    expect(() => policy.evaluate('data.t.p', { input })).toThrow(
      expect.objectContaining({ code: 'ERR_REGO_EVAL', kind: 'resource_exhausted' }),
    );
  });
});
