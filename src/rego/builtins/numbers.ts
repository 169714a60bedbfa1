import { compare, equal } from '../compare.js';
import {
  isInteger,
  isNumber,
  normNumber,
  RegoSet,
  type RegoNumber,
  type RegoValue,
} from '../value.js';
import { arg, fail, int, num, typeFail } from './args.js';
import type { BuiltinTable } from './types.js';

function toBig(n: RegoNumber): bigint {
  return typeof n === 'bigint' ? n : BigInt(n);
}

function arith(
  a: RegoNumber,
  b: RegoNumber,
  f: (x: number, y: number) => number,
  g: (x: bigint, y: bigint) => bigint,
): RegoNumber {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = f(a, b);
    if (!Number.isInteger(a) || !Number.isInteger(b) || Number.isSafeInteger(r))
      return normNumber(r);
  }
  if (isInteger(a) && isInteger(b)) return normNumber(g(toBig(a), toBig(b)));
  return normNumber(f(Number(a), Number(b)));
}

function setOrNum(args: readonly RegoValue[], i: number): RegoValue {
  const v = arg(args, i);
  if (!isNumber(v) && !(v instanceof RegoSet)) typeFail(i, 'one of {number, set}', v);
  return v;
}

function divide(a: RegoNumber, b: RegoNumber): RegoNumber {
  if (Number(b) === 0) fail('divide by zero');
  if (isInteger(a) && isInteger(b)) {
    const x = toBig(a);
    const y = toBig(b);
    if (x % y === 0n) return normNumber(x / y);
  }
  return normNumber(Number(a) / Number(b));
}

function round(n: RegoNumber, f: (x: number) => number): RegoNumber {
  return typeof n === 'bigint' ? n : normNumber(f(n));
}

function goRound(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

function range(a: bigint, b: bigint, step: bigint): RegoValue[] {
  const out: RegoValue[] = [];
  if (step <= 0n) fail('step must be a positive number above zero');
  if ((b - a) / step > 10_000_000n) fail('range too large');
  if (a <= b) for (let x = a; x <= b; x += step) out.push(normNumber(x));
  else for (let x = a; x >= b; x -= step) out.push(normNumber(x));
  return out;
}

export const NUMBER_BUILTINS: BuiltinTable = {
  plus: {
    arity: 2,
    fn: (a) =>
      arith(
        num(a, 0),
        num(a, 1),
        (x, y) => x + y,
        (x, y) => x + y,
      ),
  },
  minus: {
    arity: 2,
    fn: (a) => {
      const x = setOrNum(a, 0);
      const y = setOrNum(a, 1);
      if (x instanceof RegoSet && y instanceof RegoSet)
        return RegoSet.of([...x.values()].filter((v) => !y.has(v)));
      if (isNumber(x) && isNumber(y))
        return arith(
          x,
          y,
          (p, q) => p - q,
          (p, q) => p - q,
        );
      return typeFail(1, typeof x === 'object' ? 'set' : 'number', y);
    },
  },
  mul: {
    arity: 2,
    fn: (a) =>
      arith(
        num(a, 0),
        num(a, 1),
        (x, y) => x * y,
        (x, y) => x * y,
      ),
  },
  div: { arity: 2, fn: (a) => divide(num(a, 0), num(a, 1)) },
  rem: {
    arity: 2,
    fn: (a) => {
      const x = num(a, 0);
      const y = num(a, 1);
      if (!isInteger(x) || !isInteger(y)) fail('modulo on floating-point number');
      if (toBig(y) === 0n) fail('modulo by zero');
      return normNumber(toBig(x) % toBig(y));
    },
  },
  abs: {
    arity: 1,
    fn: (a) => {
      const n = num(a, 0);
      return typeof n === 'bigint' ? (n < 0n ? -n : n) : Math.abs(n);
    },
  },
  round: { arity: 1, fn: (a) => round(num(a, 0), goRound) },
  ceil: { arity: 1, fn: (a) => round(num(a, 0), Math.ceil) },
  floor: { arity: 1, fn: (a) => round(num(a, 0), Math.floor) },
  'numbers.range': { arity: 2, fn: (a) => range(int(a, 0), int(a, 1), 1n) },
  'numbers.range_step': { arity: 3, fn: (a) => range(int(a, 0), int(a, 1), int(a, 2)) },
  equal: { arity: 2, fn: (a) => equal(arg(a, 0), arg(a, 1)) },
  neq: { arity: 2, fn: (a) => !equal(arg(a, 0), arg(a, 1)) },
  lt: { arity: 2, fn: (a) => compare(arg(a, 0), arg(a, 1)) < 0 },
  lte: { arity: 2, fn: (a) => compare(arg(a, 0), arg(a, 1)) <= 0 },
  gt: { arity: 2, fn: (a) => compare(arg(a, 0), arg(a, 1)) > 0 },
  gte: { arity: 2, fn: (a) => compare(arg(a, 0), arg(a, 1)) >= 0 },
  'bits.and': { arity: 2, fn: (a) => normNumber(int(a, 0) & int(a, 1)) },
  'bits.or': { arity: 2, fn: (a) => normNumber(int(a, 0) | int(a, 1)) },
  'bits.xor': { arity: 2, fn: (a) => normNumber(int(a, 0) ^ int(a, 1)) },
  'bits.negate': { arity: 1, fn: (a) => normNumber(~int(a, 0)) },
  'bits.lsh': {
    arity: 2,
    fn: (a) => {
      const s = int(a, 1);
      if (s < 0n) fail('operand 2 must be an unsigned integer number but got a negative integer');
      return normNumber(int(a, 0) << s);
    },
  },
  'bits.rsh': {
    arity: 2,
    fn: (a) => {
      const s = int(a, 1);
      if (s < 0n) fail('operand 2 must be an unsigned integer number but got a negative integer');
      return normNumber(int(a, 0) >> s);
    },
  },
};
