import { sortedEntries, sortedValues } from './compare.js';
import { RegoSet, type RegoObject, type RegoNumber, type RegoValue } from './value.js';

const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

export function formatNumber(n: RegoNumber): string {
  if (typeof n === 'bigint') return n.toString();
  if (Number.isInteger(n)) return n.toFixed(0);
  return String(n);
}

/** Go strconv.Quote-style quoting (what OPA prints for strings inside composites). */
export function quoteString(s: string): string {
  if (PLAIN.test(s)) return '"' + s + '"';
  return JSON.stringify(s).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A value in Rego syntax, as OPA's term String(): sets `{1, 2}`, `set()`, sorted keys. */
export function formatValue(v: RegoValue): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
    case 'bigint':
      return formatNumber(v);
    case 'string':
      return quoteString(v);
    case 'object':
    case 'function':
    case 'symbol':
    case 'undefined':
      break;
  }
  if (Array.isArray(v)) return '[' + v.map(formatValue).join(', ') + ']';
  if (v instanceof RegoSet) {
    if (v.size === 0) return 'set()';
    return '{' + sortedValues(v).map(formatValue).join(', ') + '}';
  }
  const parts = sortedEntries(v as RegoObject).map(
    ([k, x]) => `${formatValue(k)}: ${formatValue(x)}`,
  );
  return '{' + parts.join(', ') + '}';
}

/**
 * print() text of composite values, by identity. Values are immutable once built, and policies
 * print the same policy_data and input values many times per evaluation (genpolicy prints each
 * policy mount once per input mount). Only print arguments are kept, not their nested parts, so the
 * memory held is at most the text already printed while the value lives.
 */
const PRINTED = new WeakMap<object, string>();

/** print(): strings as they are, everything else in Rego syntax. */
export function formatPrintArg(v: RegoValue): string {
  if (typeof v === 'string') return v;
  if (v === null || typeof v !== 'object') return formatValue(v);
  let text = PRINTED.get(v);
  if (text === undefined) {
    text = formatValue(v);
    PRINTED.set(v, text);
  }
  return text;
}
