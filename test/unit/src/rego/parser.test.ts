import { describe, expect, test } from 'vitest';
import { parseModule, RegoError } from '#src/rego/index.js';

function parseErr(text: string): string {
  try {
    parseModule('m.rego', text);
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
});
