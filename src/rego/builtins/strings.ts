import { BuiltinFailure } from '../errors.js';
import { formatValue } from '../format.js';
import { numberValue } from '../parser-terms.js';
import { isNumber, normNumber, RegoSet, runes, typeOf, type RegoValue } from '../value.js';
import { arg, fail, int, items, num, str, stringItems, typeFail } from './args.js';
import { sprintf } from './sprintf.js';
import type { BuiltinTable } from './types.js';

function cutsetTrim(s: string, cutset: string, left: boolean, right: boolean): string {
  const cut = new Set(runes(cutset));
  const r = runes(s);
  let a = 0;
  let b = r.length;
  if (left) while (a < b && cut.has(r[a] ?? '')) a++;
  if (right) while (b > a && cut.has(r[b - 1] ?? '')) b--;
  return r.slice(a, b).join('');
}

function runeIndex(s: string, sub: string, from = 0): number {
  const r = runes(s);
  const t = runes(sub);
  for (let i = from; i + t.length <= r.length; i++) {
    let ok = true;
    for (let j = 0; j < t.length; j++)
      if (r[i + j] !== t[j]) {
        ok = false;
        break;
      }
    if (ok) return i;
  }
  return -1;
}

function stringsOrList(args: readonly RegoValue[], i: number): string[] {
  const v = arg(args, i);
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) || v instanceof RegoSet) return stringItems(args, i);
  return typeFail(i, 'one of {string, set, array}', v);
}

function toNumber(v: RegoValue): RegoValue {
  if (v === null) return 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (isNumber(v)) return v;
  if (typeof v === 'string') {
    const t = v.trim();
    if (!/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(t))
      fail(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    return numberValue(t.replace(/^\+/, ''));
  }
  return typeFail(0, 'one of {null, boolean, number, string}', v);
}

function formatInt(args: readonly RegoValue[]): string {
  const n = num(args, 0);
  const base = num(args, 1);
  const b = Number(base);
  if (!(b === 2 || b === 8 || b === 10 || b === 16))
    throw new BuiltinFailure('operand 2 must be one of {2, 8, 10, 16}', true);
  const i = typeof n === 'bigint' ? n : BigInt(Math.trunc(n));
  return i.toString(b);
}

/**
 * Go's strings.ReplaceAll: `neu` is literal (JS replaceAll would expand `$&`, `$1`, `$$` in it),
 * and an empty `old` matches before every rune and at the end.
 */
function replaceAll(s: string, old: string, neu: string): string {
  if (old === '') return neu + runes(s).join(neu) + (s === '' ? '' : neu);
  if (!s.includes(old)) return s;
  // a replacement without `$` has no JS pattern syntax in it: the native path is literal
  return neu.includes('$') ? s.replaceAll(old, () => neu) : s.replaceAll(old, neu);
}

function replaceN(patterns: RegoValue, s: string): string {
  const keys: [string, string][] = [];
  for (const [k, v] of (
    patterns as { entries(): Iterable<readonly [RegoValue, RegoValue]> }
  ).entries()) {
    if (typeof k !== 'string') throw new BuiltinFailure('operand 1 keys must be strings', true);
    if (typeof v !== 'string') throw new BuiltinFailure('operand 1 values must be strings', true);
    keys.push([k, v]);
  }
  keys.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let out = '';
  for (let i = 0; i < s.length;) {
    const hit = keys.find(([k]) => k !== '' && s.startsWith(k, i));
    if (hit) {
      out += hit[1];
      i += hit[0].length;
    } else out += s[i++] ?? '';
  }
  return out;
}

export const STRING_BUILTINS: BuiltinTable = {
  concat: { arity: 2, fn: (a) => stringItems(a, 1).join(str(a, 0)) },
  contains: { arity: 2, fn: (a) => str(a, 0).includes(str(a, 1)) },
  startswith: { arity: 2, fn: (a) => str(a, 0).startsWith(str(a, 1)) },
  endswith: { arity: 2, fn: (a) => str(a, 0).endsWith(str(a, 1)) },
  split: {
    arity: 2,
    fn: (a) => {
      const s = str(a, 0);
      const d = str(a, 1);
      return d === '' ? runes(s) : s.split(d);
    },
  },
  replace: { arity: 3, fn: (a) => replaceAll(str(a, 0), str(a, 1), str(a, 2)) },
  'strings.replace_n': {
    arity: 2,
    fn: (a) => {
      const p = arg(a, 0);
      if (typeOf(p) !== 'object') return typeFail(0, 'object', p);
      return replaceN(p, str(a, 1));
    },
  },
  trim: { arity: 2, fn: (a) => cutsetTrim(str(a, 0), str(a, 1), true, true) },
  trim_left: { arity: 2, fn: (a) => cutsetTrim(str(a, 0), str(a, 1), true, false) },
  trim_right: { arity: 2, fn: (a) => cutsetTrim(str(a, 0), str(a, 1), false, true) },
  trim_prefix: {
    arity: 2,
    fn: (a) => {
      const s = str(a, 0);
      const p = str(a, 1);
      return s.startsWith(p) ? s.slice(p.length) : s;
    },
  },
  trim_suffix: {
    arity: 2,
    fn: (a) => {
      const s = str(a, 0);
      const p = str(a, 1);
      return p !== '' && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
    },
  },
  trim_space: { arity: 1, fn: (a) => str(a, 0).trim() },
  lower: { arity: 1, fn: (a) => str(a, 0).toLowerCase() },
  upper: { arity: 1, fn: (a) => str(a, 0).toUpperCase() },
  sprintf: {
    arity: 2,
    fn: (a) => {
      const v = arg(a, 1);
      if (!Array.isArray(v)) return typeFail(1, 'array', v);
      return sprintf(str(a, 0), v as RegoValue[]);
    },
  },
  format_int: { arity: 2, fn: formatInt },
  substring: {
    arity: 3,
    fn: (a) => {
      const r = runes(str(a, 0));
      const start = Number(int(a, 1));
      const len = Number(int(a, 2));
      if (start < 0) fail('negative offset');
      if (start >= r.length) return '';
      return (len < 0 ? r.slice(start) : r.slice(start, start + len)).join('');
    },
  },
  indexof: { arity: 2, fn: (a) => runeIndex(str(a, 0), str(a, 1)) },
  indexof_n: {
    arity: 2,
    fn: (a) => {
      const s = str(a, 0);
      const sub = str(a, 1);
      const out: RegoValue[] = [];
      for (let i = runeIndex(s, sub); i >= 0; i = runeIndex(s, sub, i + 1)) out.push(i);
      return out;
    },
  },
  'strings.reverse': { arity: 1, fn: (a) => runes(str(a, 0)).reverse().join('') },
  'strings.count': {
    arity: 2,
    fn: (a) => {
      const s = str(a, 0);
      const sub = str(a, 1);
      if (sub === '') return runes(s).length + 1;
      return s.split(sub).length - 1;
    },
  },
  'strings.any_prefix_match': {
    arity: 2,
    fn: (a) => {
      const xs = stringsOrList(a, 0);
      const ps = stringsOrList(a, 1);
      return xs.some((x) => ps.some((p) => x.startsWith(p)));
    },
  },
  'strings.any_suffix_match': {
    arity: 2,
    fn: (a) => {
      const xs = stringsOrList(a, 0);
      const ps = stringsOrList(a, 1);
      return xs.some((x) => ps.some((p) => x.endsWith(p)));
    },
  },
  to_number: { arity: 1, fn: (a) => toNumber(arg(a, 0)) },
  'units.parse_bytes': { arity: 1, fn: (a) => parseUnits(str(a, 0), true) },
  'units.parse': { arity: 1, fn: (a) => parseUnits(str(a, 0), false) },
  'internal.template_string': {
    arity: 1,
    fn: (a) =>
      items(a, 0)
        .map((x) => (typeof x === 'string' ? x : formatValue(x)))
        .join(''),
  },
};

const UNIT: Record<string, number> = {
  '': 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
  p: 1e15,
  e: 1e18,
  ki: 1024,
  mi: 1024 ** 2,
  gi: 1024 ** 3,
  ti: 1024 ** 4,
  pi: 1024 ** 5,
  ei: 1024 ** 6,
};

function parseUnits(s: string, bytes: boolean): RegoValue {
  const t = s.replace(/"/g, '').trim();
  const m = /^([0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)$/.exec(t);
  if (!m) fail(bytes ? 'could not parse byte amount' : 'could not parse unit amount');
  let unit = m[2] ?? '';
  if (bytes) unit = unit.toLowerCase().replace(/b$/, '');
  else if (unit !== 'm' && unit !== 'mi' && unit.toLowerCase() !== unit) unit = unit.toLowerCase();
  let mult = UNIT[bytes ? unit : unit.toLowerCase()];
  if (!bytes && unit === 'm') mult = 1e-3;
  if (mult === undefined) fail(`${bytes ? 'byte' : 'unit'} unit not supported: ${m[2] ?? ''}`);
  const n = Number(m[1]) * mult;
  return bytes ? normNumber(Math.round(n)) : normNumber(n);
}
