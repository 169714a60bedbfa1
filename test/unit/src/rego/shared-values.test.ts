import { describe, expect, test } from 'vitest';
import { NULL_LOGGER } from '#src/lib/index.js';
import { compileModules, PolicySession } from '#src/rego/index.js';
import type { RuleGroup } from '#src/rego/compile.js';
import { callKey, MAX_SHARED_CALLS, SharedValues } from '#src/rego/shared-values.js';
import { compileAgentPolicy, RegoAgentPolicy } from '#guest/policy/index.js';

const compile = (rules: string): ReturnType<typeof compileModules> =>
  compileModules([{ path: 'c.rego', text: `package t\n${rules}` }]);

describe('values shared across evaluations of one policy', () => {
  test('a stable rule is computed once and reused; rules reading data follow the data', () => {
    const p = compile(
      ['k := upper("x")', 'mixed := concat("-", [k, data.cfg.y])', 'p := data.cfg.x'].join('\n'),
    );
    for (const [x, y] of [
      [1, 'a'],
      [2, 'b'],
      [3, 'a'],
    ] as const) {
      const data = { cfg: { x, y } };
      expect(p.evaluate('data.t.p', { data }).value).toBe(x);
      expect(p.evaluate('data.t.mixed', { data }).value).toBe(`X-${y}`);
    }
    expect(p.sharedCounts()).toEqual({ rules: 1, calls: 0 });
  });

  test('a new policy (SetPolicy) gets new values: the stable rule changes with it', async () => {
    const text = (limit: number): string =>
      [
        'package agent_policy',
        'default SetPolicyRequest := true',
        `max_args := ${String(limit)}`,
        'CreateContainerRequest if count(input.args) <= max_args',
      ].join('\n');
    const agent = new RegoAgentPolicy(compileAgentPolicy(text(1), 'a.rego'), {
      logger: NULL_LOGGER,
      source: 'test',
    });
    const two = { args: ['a', 'b'] };
    expect((await agent.check('CreateContainerRequest', two)).allowed).toBe(false);
    expect((await agent.setPolicy({ policy: text(2) })).allowed).toBe(true);
    expect((await agent.check('CreateContainerRequest', two)).allowed).toBe(true);
    expect((await agent.setPolicy({ policy: text(1) })).allowed).toBe(true);
    expect((await agent.check('CreateContainerRequest', two)).allowed).toBe(false);
  });

  test('print() in a rule that reads nothing else still prints in every evaluation', () => {
    const p = compile(
      [
        'f(x) := y if { print("f", x); y := x + 1 }',
        'k := 41 if print("k")',
        'p := [k, f(1)]',
      ].join('\n'),
    );
    const lines: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = p.evaluate('data.t.p', { capturePrints: true, print: (l) => lines.push(l) });
      expect(r.value).toEqual([41, 2]);
      expect(r.prints).toEqual(['k', 'f 1']);
    }
    expect(lines).toEqual(['k', 'f 1', 'k', 'f 1', 'k', 'f 1']);
    expect(p.sharedCounts()).toEqual({ rules: 0, calls: 0 });
  });

  test('with data.y as / with input.x as / mocked functions bypass the shared values', () => {
    const p = compile(
      [
        'k := 1',
        's := k + 1',
        'f(x) := upper(x)',
        'in_data := v if v := s with data.t.k as 7',
        'in_input := v if v := [s, f("a")] with input.x as 5',
        'in_mock := v if v := f("a") with upper as "mocked"',
        'fa := f("a")',
      ].join('\n'),
    );
    expect(p.evaluate('data.t.s').value).toBe(2);
    expect(p.evaluate('data.t.fa').value).toBe('A');
    const cached = p.sharedCounts();
    expect(cached).toEqual({ rules: 3, calls: 1 }); // k, s, fa; f("a")
    expect(p.evaluate('data.t.in_data').value).toBe(8);
    expect(p.evaluate('data.t.in_mock').value).toBe('mocked');
    expect(p.evaluate('data.t.in_input').value).toEqual([2, 'A']);
    expect(p.evaluate('data.t.in_data').value).toBe(8);
    expect(p.evaluate('x := data.t.s with data.t.k as 10', {}).value).toBe(true);
    expect(p.query('x := data.t.s with data.t.k as 10').rows).toEqual([{ x: 11 }]);
    expect(p.query('x := data.t.fa with upper as "m"').rows).toEqual([{ x: 'm' }]);
    // nothing computed under with leaked into the shared values
    expect(p.evaluate('data.t.s').value).toBe(2);
    expect(p.evaluate('data.t.fa').value).toBe('A');
    expect(p.sharedCounts()).toEqual(cached);
  });

  test('strict and non-strict evaluations keep separate values (builtin errors differ)', () => {
    const p = compile('n := to_number("x")\np := 1 if not n');
    expect(p.evaluate('data.t.p').value).toBe(1);
    expect(() => p.evaluate('data.t.p', { strict: true })).toThrow(/eval_builtin_error/);
    expect(p.evaluate('data.t.p').value).toBe(1);
  });

  test('a conflict is not cached: every evaluation reports it', () => {
    const p = compile('k := 1\nk := 2');
    for (let i = 0; i < 2; i++) expect(() => p.evaluate('data.t.k')).toThrow(/conflict|multiple/);
  });

  test('functions are memoised for scalar arguments only', () => {
    const p = compile('f(x) := y if y := count([x])\np := [f("a"), f(1), f(["a"]), f("a")]');
    expect(p.evaluate('data.t.p').value).toEqual([1, 1, 1, 1]);
    expect(p.sharedCounts().calls).toBe(2);
  });

  test('decisions of a PolicySession are the same on a fresh and on a warm policy', () => {
    const text = [
      'package agent_policy',
      'allowed_env := {e | some e in ["A=1", "B=2"]}',
      'ok(e) if allowed_env[e]',
      'CreateContainerRequest if every e in input.env { ok(e) }',
    ].join('\n');
    const warm = new PolicySession(compileModules([{ path: 'w.rego', text }]));
    for (const [env, want] of [
      [['A=1'], true],
      [['A=1', 'C=3'], false],
      [['B=2', 'A=1'], true],
      [['C=3'], false],
    ] as const) {
      const fresh = new PolicySession(compileModules([{ path: 'f.rego', text }]));
      expect(warm.decide('CreateContainerRequest', { env }).allowed).toBe(want);
      expect(fresh.decide('CreateContainerRequest', { env }).allowed).toBe(want);
    }
  });
});

describe('SharedValues', () => {
  test('callKey keeps scalars apart and refuses composites and long strings', () => {
    expect(callKey(['a', 'b'])).not.toBe(callKey(['a,b']));
    expect(callKey(['1'])).not.toBe(callKey([1]));
    expect(callKey([null, true])).toBe(callKey([null, true]));
    expect(callKey([['a']])).toBeUndefined();
    expect(callKey(['x'.repeat(2000)])).toBeUndefined();
  });

  test('the call memo is bounded: it starts over when full', () => {
    const s = new SharedValues(new Set());
    const group: RuleGroup = {
      path: ['f'],
      kind: 'function',
      rules: [],
      defaultRule: undefined,
      arity: 1,
    };
    for (let i = 0; i < MAX_SHARED_CALLS; i++) s.setCall(group, String(i), i);
    expect(s.callCount).toBe(MAX_SHARED_CALLS);
    s.setCall(group, 'one more', 1);
    expect(s.callCount).toBe(1);
    expect(s.call(group, '0')).toBeUndefined();
    expect(s.call(group, 'one more')).toBe(1);
  });
});
