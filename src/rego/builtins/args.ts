import { BuiltinFailure } from '../errors.js';
import {
  isNumber,
  RegoObject,
  RegoSet,
  typeOf,
  type RegoArray,
  type RegoNumber,
  type RegoValue,
} from '../value.js';

export function fail(message: string): never {
  throw new BuiltinFailure(message);
}

export function typeFail(i: number, want: string, got: RegoValue): never {
  throw new BuiltinFailure(`operand ${i + 1} must be ${want} but got ${typeOf(got)}`, true);
}

export function arg(args: readonly RegoValue[], i: number): RegoValue {
  return args[i] ?? null;
}

export function str(args: readonly RegoValue[], i: number): string {
  const v = arg(args, i);
  if (typeof v !== 'string') typeFail(i, 'string', v);
  return v;
}

export function num(args: readonly RegoValue[], i: number): RegoNumber {
  const v = arg(args, i);
  if (!isNumber(v)) typeFail(i, 'number', v);
  return v;
}

/** An integer operand as bigint ("integer number" errors as OPA words them). */
export function int(args: readonly RegoValue[], i: number): bigint {
  const v = num(args, i);
  if (typeof v === 'number' && !Number.isInteger(v)) {
    throw new BuiltinFailure(
      `operand ${i + 1} must be integer number but got floating-point number`,
      true,
    );
  }
  return BigInt(v);
}

export function arr(args: readonly RegoValue[], i: number): RegoArray {
  const v = arg(args, i);
  if (!Array.isArray(v)) typeFail(i, 'array', v);
  return v as RegoArray;
}

export function obj(args: readonly RegoValue[], i: number): RegoObject {
  const v = arg(args, i);
  if (!(v instanceof RegoObject)) typeFail(i, 'object', v);
  return v;
}

export function set(args: readonly RegoValue[], i: number): RegoSet {
  const v = arg(args, i);
  if (!(v instanceof RegoSet)) typeFail(i, 'set', v);
  return v;
}

export function bool(args: readonly RegoValue[], i: number): boolean {
  const v = arg(args, i);
  if (typeof v !== 'boolean') typeFail(i, 'boolean', v);
  return v;
}

/** Elements of an array or set operand. */
export function items(
  args: readonly RegoValue[],
  i: number,
  want = 'one of {array, set}',
): RegoValue[] {
  const v = arg(args, i);
  if (Array.isArray(v)) return v as RegoValue[];
  if (v instanceof RegoSet) return [...v.values()];
  return typeFail(i, want, v);
}

/** Strings of an array or set operand (all elements must be strings). */
export function stringItems(args: readonly RegoValue[], i: number): string[] {
  return items(args, i).map((x) => {
    if (typeof x !== 'string')
      throw new BuiltinFailure(
        `operand ${i + 1} must be array of strings but got array containing ${typeOf(x)}`,
        true,
      );
    return x;
  });
}
