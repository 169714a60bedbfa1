import { describe, expect, test } from 'vitest';
import { compileModules } from '#src/rego/index.js';

function value(expr: string): unknown {
  const policy = compileModules([{ path: 'b.rego', text: `package t\np := ${expr}` }]);
  return policy.evaluate('data.t.p', { strict: true }).value;
}

describe('builtins', () => {
  test.each([
    ['sprintf("%v %s %d %q", [1.5, "s", 42, "q"])', '1.5 s 42 "q"'],
    ['sprintf("%v", [{"b": {1}, "a": [null]}])', '{"a": [null], "b": {1}}'],
    ['sprintf("%05.1f|%-4s|%x|%X", [3.14159, "ab", 255, "hi"])', '003.1|ab  |ff|6869'],
    ['sprintf("%d", ["x"])', '%!d(string=x)'],
    ['format_int(255, 16)', 'ff'],
    ['concat("/", ["a", "b"])', 'a/b'],
    ['substring("héllo", 1, 3)', 'éll'],
    ['indexof("héllo", "l")', 2],
    ['trim_left("xxhixx", "x")', 'hixx'],
    ['strings.replace_n({"a": "1", "b": "2"}, "abc")', '12c'],
    // Go's strings.ReplaceAll: the replacement is literal ($& and $$ are JS replaceAll syntax)
    ['replace("a-b-c", "-", "$&$$")', 'a$&$$b$&$$c'],
    ['replace("héllo", "", ".")', '.h.é.l.l.o.'],
    ['replace("", "", ".")', '.'],
    ['replace("aaa", "aa", "b")', 'ba'],
    ['regex.match("^[a-z]+$", "abc")', true],
    [
      'regex.find_all_string_submatch_n("a(b*)", "abbab", -1)',
      [
        ['abb', 'bb'],
        ['ab', 'b'],
      ],
    ],
    ['regex.replace("a1b22", "[0-9]+", "#")', 'a#b#'],
    ['regex.split("[,;]", "a,b;c")', ['a', 'b', 'c']],
    ['base64url.encode_no_pad("hi?")', 'aGk_'],
    ['base64.decode(base64.encode("é"))', 'é'],
    ['hex.decode(hex.encode("hi"))', 'hi'],
    ['json.marshal({"b": [1, {2}], "a": null})', '{"a":null,"b":[1,[2]]}'],
    ['json.unmarshal("{\\"a\\": [1, 2.5]}")', { a: [1, 2.5] }],
    ['json.patch({"a": 1}, [{"op": "add", "path": "/b", "value": 2}])', { a: 1, b: 2 }],
    ['object.get({"a": {"b": 1}}, ["a", "b"], 0)', 1],
    ['object.union({"a": {"x": 1}}, {"a": {"y": 2}})', { a: { x: 1, y: 2 } }],
    ['object.remove({"a": 1, "b": 2}, {"a"})', { b: 2 }],
    ['object.filter({"a": 1, "b": 2}, ["a"])', { a: 1 }],
    ['array.slice([1, 2, 3, 4], 1, 3)', [2, 3]],
    [
      'bits.and(12, 10) + bits.or(12, 10) + bits.xor(12, 10) + bits.lsh(1, 4) + bits.rsh(16, 2)',
      8 + 14 + 6 + 16 + 4,
    ],
    ['bits.negate(0)', -1],
    ['crypto.sha256("abc")', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['units.parse_bytes("10KiB")', 10240],
    ['numbers.range(1, 3)', [1, 2, 3]],
    ['{1, 2} | {3}', [1, 2, 3]],
    ['{1, 2} & {2}', [2]],
    ['{1, 2} - {2}', [1]],
    ['[7 % 4, 7 / 2, round(2.5), ceil(1.2), floor(-1.2), abs(-3)]', [3, 3.5, 3, 2, -2, 3]],
    ['type_name(set())', 'set'],
    ['[max([1, 3, 2]), min({4, 5}), sum([1, 2.5]), count("héllo")]', [3, 4, 3.5, 5]],
  ])('%s', (expr, want) => {
    expect(value(expr)).toEqual(want);
  });

  test('keeps integer arithmetic beyond 2^53 exact', () => {
    const policy = compileModules([
      { path: 'b.rego', text: 'package t\np := format_int(9007199254740993 * 3, 10)' },
    ]);
    expect(policy.evaluate('data.t.p').value).toBe('27021597764222979');
  });

  test('fails division by zero as eval_builtin_error in strict mode', () => {
    expect(() => value('1 / 0')).toThrow(/eval_builtin_error: div: divide by zero/);
  });
});
