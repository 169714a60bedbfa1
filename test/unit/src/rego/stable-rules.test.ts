import { describe, expect, test } from 'vitest';
import { BUILTINS } from '#src/rego/builtins/index.js';
import { buildTree } from '#src/rego/compile.js';
import { parseModule } from '#src/rego/parser.js';
import { isImpureBuiltin, stableGroups } from '#src/rego/stable-rules.js';

/** Names (below package t) of the stable rule groups of a module. */
function stableNames(rules: string): string[] {
  const root = buildTree([parseModule('s.rego', `package t\n${rules}`)]);
  return [...stableGroups(root, BUILTINS)].map((g) => g.path.slice(1).join('.')).sort();
}

describe('stableGroups', () => {
  test.each([
    ['a literal', 'p := {"a": [1, 2]}', ['p']],
    ['derived from stable rules', 'k := "x"\np := concat("-", [k, upper(k)])', ['k', 'p']],
    ['a pure function and its caller', 'f(x) := y if y := x * 2\np := f(21)', ['f', 'p']],
    ['a partial set over a stable rule', 'xs := [1, 2]\np contains x if some x in xs', ['p', 'xs']],
    ['a comprehension over a stable rule', 'xs := [1]\np := [y | some y in xs]', ['p', 'xs']],
    ['reads input', 'p := input.x', []],
    ['reads input in a comprehension', 'p := [x | x := input.xs[_]]', []],
    ['reads a base document', 'p := data.cfg.x', []],
    ['reads its own package (merged with base documents)', 'k := 1\np := data.t', ['k']],
    ['reads all of data', 'p := data', []],
    ['a dynamic data path', 'k := 1\np := data.t[x]', ['k']],
    ['calls print()', 'p := 1 if print("x")', []],
    ['calls a function that prints', 'f(x) := x if print(x)\np := f(1)', []],
    ['calls time.now_ns()', 'p := time.now_ns()', []],
    ['calls opa.runtime()', 'p := opa.runtime()', []],
    ['uses with', 'k := 1\nq := k\np := v if v := q with data.t.k as 2', ['k', 'q']],
    ['uses with input', 'q := 1\np := v if v := q with input.x as 2', ['q']],
    ['depends on a rule that reads input', 'q := input.x\np := q + 1', []],
    ['an else chain that reads input', 'p := 1 if false else := input.x', []],
    ['a default with input-dependent clauses', 'default p := 0\np := input.x', []],
    ['not over input', 'p if not input.x', []],
    ['every over a stable rule', 'xs := [1]\np if every x in xs { x > 0 }', ['p', 'xs']],
  ])('%s', (_name, rules, want) => {
    expect(stableNames(rules)).toEqual(want);
  });

  test('a recursion cycle is not stable', () => {
    expect(stableNames('a := b\nb := a\nc := 1')).toEqual(['c']);
  });

  test.each([
    ['print', true],
    ['time.now_ns', true],
    ['time.parse_rfc3339_ns', true],
    ['rand.intn', true],
    ['http.send', true],
    ['opa.runtime', true],
    ['uuid.rfc4122', true],
    ['concat', false],
    ['regex.match', false],
  ])('isImpureBuiltin(%s) is %s', (name, want) => {
    expect(isImpureBuiltin(name)).toBe(want);
  });
});
