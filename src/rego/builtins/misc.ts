import { normNumber, RegoObject, type RegoValue } from '../value.js';
import { fail, str } from './args.js';
import type { BuiltinTable } from './types.js';

const SEMVER =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

function semver(s: string, i: number): [bigint, bigint, bigint, string[]] {
  const m = SEMVER.exec(s);
  if (!m) fail(`operand ${i + 1}: string ${JSON.stringify(s)} is not a valid SemVer`);
  return [BigInt(m[1] ?? 0), BigInt(m[2] ?? 0), BigInt(m[3] ?? 0), m[4] ? m[4].split('.') : []];
}

function cmpPre(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : a.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) {
      const d = BigInt(x) - BigInt(y);
      if (d !== 0n) return d < 0n ? -1 : 1;
    } else if (nx !== ny) return nx ? -1 : 1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function semverCompare(a: string, b: string): number {
  const x = semver(a, 0);
  const y = semver(b, 1);
  for (let i = 0; i < 3; i++) {
    const p = x[i] as bigint;
    const q = y[i] as bigint;
    if (p !== q) return p < q ? -1 : 1;
  }
  return cmpPre(x[3], y[3]);
}

function unavailable(name: string): BuiltinTable[string] {
  return {
    arity: 1,
    fn: () =>
      fail(`${name} is not available in this engine (no network access); mock it with \`with\``),
  };
}

export const MISC_BUILTINS: BuiltinTable = {
  'opa.runtime': { arity: 0, fn: () => new RegoObject() },
  'http.send': unavailable('http.send'),
  'time.now_ns': { arity: 0, fn: (_a, ctx) => normNumber(ctx.nowNs) },
  'semver.compare': { arity: 2, fn: (a) => semverCompare(str(a, 0), str(a, 1)) },
  'semver.is_valid': {
    arity: 1,
    fn: (a: RegoValue[]) => typeof a[0] === 'string' && SEMVER.test(a[0]),
  },
};
