import { compare, sortedEntries, sortedValues } from './compare.js';
import { formatValue } from './format.js';
import { normNumber, RegoObject, RegoSet, type RegoValue } from './value.js';

/** JSON-compatible output (sets become sorted arrays, non-string keys are stringified). */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Converts parsed JSON/YAML (plain JS data) into a Rego value. */
export function fromJs(x: unknown, at = 'value'): RegoValue {
  if (x === null) return null;
  switch (typeof x) {
    case 'boolean':
    case 'string':
      return x;
    case 'number':
      if (!Number.isFinite(x))
        throw new TypeError(`${at}: number ${x} is not representable in Rego`);
      return normNumber(x);
    case 'bigint':
      return normNumber(x);
    case 'object':
      break;
    case 'function':
    case 'symbol':
    case 'undefined':
      throw new TypeError(`${at}: ${typeof x} is not a JSON value`);
  }
  if (Array.isArray(x)) return x.map((e, i) => fromJs(e, `${at}[${i}]`));
  if (x instanceof RegoObject || x instanceof RegoSet) return x;
  if (x instanceof Map) {
    return RegoObject.fromEntries(
      [...x.entries()].map(([k, v]) => [fromJs(k, at), fromJs(v, `${at}.${String(k)}`)]),
    );
  }
  if (x instanceof Set) return RegoSet.of(Array.from(x as Set<unknown>, (e) => fromJs(e, at)));
  const o = new RegoObject();
  for (const [k, v] of Object.entries(x)) {
    if (v !== undefined) o.set(k, fromJs(v, `${at}.${k}`));
  }
  return o;
}

/** Rego value → JSON-compatible data (bigints become numbers: exact only up to 2^53). */
export function toJs(v: RegoValue): JsonValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number')
    return v;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(toJs);
  if (v instanceof RegoSet) return sortedValues(v).map(toJs);
  const out: Record<string, JsonValue> = {};
  for (const [k, x] of sortedEntries(v as RegoObject))
    out[typeof k === 'string' ? k : formatValue(k)] = toJs(x);
  return out;
}

/** JSON text of a value as OPA's json.marshal writes it (sorted keys, exact numbers). */
export function toJsonText(v: RegoValue): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return Number.isInteger(v) ? v.toFixed(0) : String(v);
    case 'bigint':
      return v.toString();
    case 'string':
      return JSON.stringify(v).replace(
        /[<>&\u2028\u2029]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
      );
    case 'object':
    case 'function':
    case 'symbol':
    case 'undefined':
      break;
  }
  if (Array.isArray(v)) return '[' + v.map(toJsonText).join(',') + ']';
  if (v instanceof RegoSet) return '[' + sortedValues(v).map(toJsonText).join(',') + ']';
  const entries = sortedEntries(v as RegoObject).map(([k, x]) => {
    const ks = typeof k === 'string' ? k : formatValue(k);
    return [ks, x] as const;
  });
  entries.sort((a, b) => compare(a[0], b[0]));
  return '{' + entries.map(([k, x]) => `${toJsonText(k)}:${toJsonText(x)}`).join(',') + '}';
}

/** Parses JSON text keeping big integers exact. */
export function parseJsonText(text: string): RegoValue {
  const raw: unknown = JSON.parse(text, (_key, value: unknown, ctx?: { source?: string }) => {
    if (typeof value === 'number' && ctx?.source !== undefined && /^-?\d+$/.test(ctx.source)) {
      return normNumber(BigInt(ctx.source));
    }
    return value;
  });
  return fromJs(raw);
}
