import { describe, expect, test } from 'vitest';
import { parseModule, RegoError } from '#src/rego/index.js';

function parseErr(text: string, v0 = false): string {
  try {
    parseModule('m.rego', text, { v0 });
  } catch (err) {
    if (err instanceof RegoError) {
      expect(err.code).toBe('ERR_REGO_PARSE');
      return err.message;
    }
    throw err;
  }
  throw new Error('expected a parse error');
}

describe('parseModule', () => {
  test('records package, imports and rules with locations', () => {
    const m = parseModule(
      'm.rego',
      'package a.b\nimport data.x as y\n\np := 1\nq contains 2 if true',
    );
    expect(m.pkg).toEqual(['a', 'b']);
    expect(m.imports[0]).toMatchObject({ path: ['data', 'x'], alias: 'y' });
    expect(m.rules.map((r) => [r.kind, r.path.join('.'), r.loc.line, r.loc.col])).toEqual([
      ['complete', 'a.b.p', 4, 1],
      ['set', 'a.b.q', 5, 1],
    ]);
  });

  test.each([
    ['p := 1', 'm.rego:1:1: expected "package" at the start of the module'],
    ['package t\np := "abc', 'm.rego:2:6: unterminated string'],
    ['package t\np := 1 +', 'm.rego:2:9: unexpected end of input'],
    ['package t\np if { x := 1 y := 2 }', 'm.rego:2:15: unexpected "y" after expression'],
    ['package t\np := [1, 2', 'm.rego:2:11: expected "]" but found end of input'],
    ['package t\np := 1 ~ 2', 'm.rego:2:8: unexpected character "~"'],
    [
      'package t\nimport foo.bar',
      'm.rego:2:1: import path must begin with data or input, got foo.bar',
    ],
  ])('reports %j as file:line:col: message', (text, want) => {
    expect(parseErr(text)).toBe(want);
  });

  test('parses ref heads into nested paths and objects', () => {
    const m = parseModule('m.rego', 'package t\na.b.c := 1\nd[x] := 2 if x := "k"');
    expect(m.rules.map((r) => [r.kind, r.path.join('.')])).toEqual([
      ['complete', 't.a.b.c'],
      ['object', 't.d'],
    ]);
  });

  test('parses raw strings, escapes, big integers and floats', () => {
    const m = parseModule(
      'm.rego',
      'package t\np := [`a\\b`, "\\u00e9\\n", 123456789012345678901, 1.5e3]',
    );
    const v = m.rules[0]?.value;
    expect(v?.type).toBe('array');
    if (v?.type !== 'array') return;
    expect(v.items.map((x) => (x.type === 'scalar' ? x.value : undefined))).toEqual([
      'a\\b',
      'é\n',
      123456789012345678901n,
      1500,
    ]);
  });

  describe('Rego v0 without the future keywords', () => {
    test('`p if { … }` is a parse error naming the missing import', () => {
      expect(parseErr('package a\n\np if { true }', true)).toBe(
        'm.rego:3:3: unexpected "if" after rule p (Rego v0 needs `import future.keywords.if` or `import rego.v1` for it)',
      );
      expect(parseErr('package a\n\nq contains 1 if { true }', true)).toMatch(
        /^m\.rego:3:3: unexpected "contains" after rule q \(Rego v0 needs `import future\.keywords\.contains`/,
      );
    });

    test('with the import (or in v1) the same text is one rule', () => {
      for (const [text, v0] of [
        ['package a\nimport future.keywords.if\np if { true }', true],
        ['package a\nimport rego.v1\np if { true }', true],
        ['package a\np if { true }', false],
      ] as const)
        expect(parseModule('m.rego', text, { v0 }).rules.map((r) => r.path.join('.'))).toEqual([
          'a.p',
        ]);
    });

    test('v0 bodies without `if` still parse; trailing words after a rule do not', () => {
      expect(
        parseModule('m.rego', 'package a\np { true }\nq = 1 { true }', { v0: true }).rules,
      ).toHaveLength(2);
      expect(parseErr('package a\n\nthis is not rego', true)).toBe(
        'm.rego:3:6: unexpected "is" after rule this',
      );
      expect(parseErr('package a\n\np := 1 q := 2')).toBe(
        'm.rego:3:8: unexpected "q" after rule p',
      );
    });
  });
});
