import { KbsProtocolError } from './errors.js';

/**
 * RFC 8785 JSON Canonicalization Scheme: no whitespace, object members sorted by the UTF-16 code
 * units of their names, strings escaped minimally (only `"`, `\`, and controls below U+0020, with
 * \b \t \n \f \r short forms and lower-case \u00xx otherwise), numbers in ECMAScript
 * Number.prototype.toString form (which is what RFC 8785 §3.2.2.3 specifies). Lone surrogates,
 * non-finite numbers and non-JSON values are errors.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, out, '$', 0);
  return out.join('');
}

const MAX_DEPTH = 128;

function fail(at: string, what: string): KbsProtocolError {
  return new KbsProtocolError('invalid_argument', 'ERR_KBS_CANONICAL_JSON', `${at}: ${what}`);
}

function write(value: unknown, out: string[], at: string, depth: number): void {
  if (depth > MAX_DEPTH) throw fail(at, `nested deeper than ${MAX_DEPTH} levels`);
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      out.push(canonicalNumber(value, at));
      return;
    case 'string':
      out.push(canonicalString(value, at));
      return;
    case 'object':
      if (Array.isArray(value)) {
        out.push('[');
        value.forEach((item: unknown, i) => {
          if (i > 0) out.push(',');
          write(item, out, `${at}[${String(i)}]`, depth + 1);
        });
        out.push(']');
        return;
      }
      writeObject(value as Record<string, unknown>, out, at, depth);
      return;
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
      throw fail(at, `${typeof value} is not a JSON value`);
  }
}

function writeObject(obj: Record<string, unknown>, out: string[], at: string, depth: number): void {
  const proto: unknown = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null) throw fail(at, 'not a plain object');
  // Default sort compares UTF-16 code units, exactly what RFC 8785 §3.2.3 asks for.
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  out.push('{');
  keys.forEach((k, i) => {
    if (i > 0) out.push(',');
    out.push(canonicalString(k, `${at} key`), ':');
    write(obj[k], out, `${at}.${k}`, depth + 1);
  });
  out.push('}');
}

/** ECMAScript number serialization; -0 becomes 0, NaN/Infinity are rejected. */
export function canonicalNumber(n: number, at = '$'): string {
  if (!Number.isFinite(n)) throw fail(at, `${String(n)} cannot be represented in JSON`);
  if (Object.is(n, -0)) return '0';
  return String(n);
}

const SHORT: Readonly<Record<number, string>> = {
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0c: '\\f',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

export function canonicalString(s: string, at = '$'): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const short = SHORT[c];
    if (short !== undefined) out += short;
    else if (c < 0x20) out += '\\u' + c.toString(16).padStart(4, '0');
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff))
        throw fail(at, `lone surrogate at index ${String(i)}`);
      out += s[i] ?? '';
      out += s[i + 1] ?? '';
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) throw fail(at, `lone surrogate at index ${String(i)}`);
    else out += s[i] ?? '';
  }
  return out + '"';
}
