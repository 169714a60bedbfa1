import type { RuleGroup } from './compile.js';
import { UNDEF } from './eval-state.js';
import { keyOf, type RegoValue } from './value.js';

/** Function results kept per policy (and strict mode) before the call memo starts over. */
export const MAX_SHARED_CALLS = 4096;
/** Calls whose string arguments are longer in all are not memoised (hashing would cost more). */
const MAX_KEY_CHARS = 1024;

export type SharedEntry = RegoValue | typeof UNDEF;

/**
 * Values of stable rule groups (`stableGroups`) shared by every evaluation of one compiled
 * policy: complete/partial rule values, and function results for scalar arguments. Only
 * evaluations with no `with` in effect read or fill it; a new policy (SetPolicy) gets a new one.
 */
export class SharedValues {
  readonly #stable: ReadonlySet<RuleGroup>;
  readonly #rules = new Map<RuleGroup, SharedEntry>();
  readonly #calls = new Map<RuleGroup, Map<string, SharedEntry>>();
  #callCount = 0;

  constructor(stable: ReadonlySet<RuleGroup>) {
    this.#stable = stable;
  }

  isStable(g: RuleGroup): boolean {
    return this.#stable.has(g);
  }

  rule(g: RuleGroup): SharedEntry | undefined {
    return this.#rules.get(g);
  }

  setRule(g: RuleGroup, v: RegoValue | undefined): void {
    this.#rules.set(g, v === undefined ? UNDEF : v);
  }

  call(g: RuleGroup, key: string): SharedEntry | undefined {
    return this.#calls.get(g)?.get(key);
  }

  setCall(g: RuleGroup, key: string, v: RegoValue | undefined): void {
    if (this.#callCount >= MAX_SHARED_CALLS) {
      this.#calls.clear();
      this.#callCount = 0;
    }
    let m = this.#calls.get(g);
    if (!m) {
      m = new Map();
      this.#calls.set(g, m);
    }
    if (!m.has(key)) this.#callCount++;
    m.set(key, v === undefined ? UNDEF : v);
  }

  /** Number of shared rule values (tests). */
  get ruleCount(): number {
    return this.#rules.size;
  }

  /** Number of memoised function results (tests). */
  get callCount(): number {
    return this.#callCount;
  }
}

/** A memo key for scalar arguments, or undefined (composite or long arguments are not memoised). */
export function callKey(args: readonly RegoValue[]): string | undefined {
  let chars = 0;
  for (const a of args) {
    if (a !== null && typeof a === 'object') return undefined;
    if (typeof a === 'string') {
      chars += a.length;
      if (chars > MAX_KEY_CHARS) return undefined;
    }
  }
  return keyOf(args);
}
