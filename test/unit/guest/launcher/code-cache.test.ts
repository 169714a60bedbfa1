import { describe, expect, test } from 'vitest';
import { compileBundle } from '#guest/launcher/code-cache.js';

/** A CommonJS bundle with enough functions that its code cache has a payload to damage. */
function bundleSource(tag: string): string {
  const fns = Array.from(
    { length: 200 },
    (_, i) => `function f${i}(x) { const o = { a: x, b: ${i} }; return o.a * o.b + ${i}; }`,
  );
  return [
    '"use strict";',
    ...fns,
    `let total = 0; for (let i = 0; i < 200; i++) total += eval('f' + i)(i);`,
    'exports.total = total;',
    `exports.tag = ${JSON.stringify(tag)};`,
    'exports.path = require("node:path").basename(__filename);',
    'exports.dir = __dirname;',
    'exports.strict = (function () { return this === undefined; })();',
    'exports.main = function () { return "main"; };',
  ].join('\n');
}

const FILE = '/opt/kata-cc/prog.cjs';
// V8 keeps compiled scripts per isolate by source and name and would answer a repeated compile from
// there without reading the cache, so each compile in this process gets its own script name.
let seq = 0;
const fresh = (): string => `/opt/kata-cc/prog-${++seq}.cjs`;

describe('compileBundle', () => {
  test('evaluates a CommonJS bundle as Node would: require, __filename, __dirname, strict', () => {
    const b = compileBundle({ filename: FILE, source: bundleSource('a') });
    expect(b.cache).toBe('none');
    expect(b.exports).toMatchObject({
      tag: 'a',
      path: 'prog.cjs',
      dir: '/opt/kata-cc',
      strict: true,
    });
    expect((b.exports['main'] as () => string)()).toBe('main');
  });

  test('a cache made by createCachedData is accepted and gives the same module', () => {
    const source = bundleSource('b');
    const first = compileBundle({ filename: FILE, source });
    const cachedData = first.createCachedData();
    expect(cachedData.length).toBeGreaterThan(1000);
    const again = compileBundle({ filename: FILE, source, cachedData, scriptName: fresh() });
    expect(again.cache).toBe('accepted');
    expect(again.exports['total']).toBe(first.exports['total']);
  });

  test('the script name V8 records is independent of where the bundle is read from', () => {
    const source = bundleSource('c');
    const a = compileBundle({ filename: '/tmp/x/prog.cjs', source, scriptName: FILE });
    const b = compileBundle({ filename: '/tmp/y/prog.cjs', source, scriptName: FILE });
    expect(a.createCachedData().equals(b.createCachedData())).toBe(true);
    expect(a.exports['dir']).toBe('/tmp/x');
  });

  test('a good cache under a new script name is accepted (the control for the next test)', () => {
    const source = bundleSource('e');
    const cachedData = compileBundle({
      filename: FILE,
      source,
      scriptName: fresh(),
    }).createCachedData();
    expect(compileBundle({ filename: FILE, source, cachedData, scriptName: fresh() }).cache).toBe(
      'accepted',
    );
  });

  test('a damaged, truncated or foreign cache is rejected and the bundle still runs', () => {
    const source = bundleSource('d');
    const good = compileBundle({ filename: FILE, source, scriptName: fresh() }).createCachedData();
    const flipped = Buffer.from(good);
    for (let i = 0; i < 64; i++) flipped[Math.floor(good.length / 2) + i]! ^= 0x5a;
    const header = Buffer.from(good);
    header[5]! ^= 1;
    const foreign = compileBundle({ filename: FILE, source: bundleSource('other-tag') });
    for (const cachedData of [
      flipped,
      header,
      good.subarray(0, good.length >> 1),
      Buffer.alloc(0),
      Buffer.from('not a cache'),
      foreign.createCachedData(),
    ]) {
      const b = compileBundle({ filename: FILE, source, cachedData, scriptName: fresh() });
      expect(b.cache).toBe('rejected');
      expect(b.exports['tag']).toBe('d');
    }
  });

  test('a bundle that throws during evaluation throws to the caller', () => {
    expect(() =>
      compileBundle({ filename: FILE, source: 'throw new Error("boom in bundle");' }),
    ).toThrow(/boom in bundle/);
  });
});
