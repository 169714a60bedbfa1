import type { RegoValue } from '../value.js';

/** What a builtin may use besides its operands. */
export interface BuiltinContext {
  /** Nanoseconds since the epoch, fixed for one evaluation. */
  readonly nowNs: bigint;
}

/** Throws BuiltinFailure (or returns undefined for "undefined"). */
export type BuiltinFn = (args: RegoValue[], ctx: BuiltinContext) => RegoValue | undefined;

export interface BuiltinDef {
  readonly arity: number;
  readonly fn: BuiltinFn;
  /** fn returns an array of results, each a separate solution (walk). */
  readonly multi?: boolean;
}

export type BuiltinTable = Record<string, BuiltinDef>;
