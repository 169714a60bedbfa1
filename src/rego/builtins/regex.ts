import { RE2JS } from 're2js';
import { fail, int, str } from './args.js';
import type { BuiltinTable } from './types.js';
import type { RegoValue } from '../value.js';

const CACHE = new Map<string, RE2JS>();
const CACHE_MAX = 500;

/** Compiles (and caches) an RE2 pattern; a bad pattern is a builtin error. */
export function compileRegex(pattern: string): RE2JS {
  let re = CACHE.get(pattern);
  if (re) return re;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    return fail(`error parsing regexp: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (CACHE.size >= CACHE_MAX) CACHE.clear();
  CACHE.set(pattern, re);
  return re;
}

function findAll(re: RE2JS, s: string, n: number, groups: boolean): RegoValue[] {
  const out: RegoValue[] = [];
  const m = re.matcher(s);
  let from = 0;
  while ((n < 0 || out.length < n) && from <= s.length && m.find(from)) {
    if (groups) {
      const row: string[] = [];
      for (let g = 0; g <= m.groupCount(); g++) row.push(m.group(g) ?? '');
      out.push(row);
    } else out.push(m.group(0) ?? '');
    const end = m.end();
    from = end === m.start() ? end + 1 : end;
  }
  return out;
}

type Matcher = ReturnType<RE2JS['matcher']>;

function groupText(m: Matcher, name: string): string {
  try {
    return (/^\d+$/.test(name) ? m.group(Number(name)) : m.group(name)) ?? '';
  } catch {
    return ''; // Go: an unknown group expands to nothing
  }
}

/** Go's `Regexp.Expand`: `$1`, `${1}`, `$name`, `${name}`, `$$`; a malformed `$` stays literal. */
function goExpand(template: string, m: Matcher): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template.charAt(i);
    if (c !== '$') {
      out += c;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    const ref = /^\{(\w+)\}|^(\w+)/.exec(template.slice(i + 1));
    const name = ref?.[1] ?? ref?.[2];
    if (ref === null || name === undefined) {
      out += '$';
      continue;
    }
    out += groupText(m, name);
    i += ref[0].length;
  }
  return out;
}

/** Go's `ReplaceAllString`: successive matches; an empty match abutting the previous one is ignored. */
function goReplaceAll(re: RE2JS, s: string, template: string): string {
  const m = re.matcher(s);
  let out = '';
  let last = 0;
  let from = 0;
  let prevEnd = -1;
  while (from <= s.length && m.find(from)) {
    const start = m.start();
    const end = m.end();
    from = end === start ? end + 1 : end;
    if (start === end && start === prevEnd) continue;
    out += s.slice(last, start) + goExpand(template, m);
    last = end;
    prevEnd = end;
  }
  return out + s.slice(last);
}

export const REGEX_BUILTINS: BuiltinTable = {
  'regex.match': { arity: 2, fn: (a) => compileRegex(str(a, 0)).test(str(a, 1)) },
  re_match: { arity: 2, fn: (a) => compileRegex(str(a, 0)).test(str(a, 1)) },
  'regex.is_valid': {
    arity: 1,
    fn: (a) => {
      const p = a[0];
      if (typeof p !== 'string') return false;
      try {
        RE2JS.compile(p);
        return true;
      } catch {
        return false;
      }
    },
  },
  'regex.find_n': {
    arity: 3,
    fn: (a) => findAll(compileRegex(str(a, 0)), str(a, 1), Number(int(a, 2)), false),
  },
  'regex.find_all_string_submatch_n': {
    arity: 3,
    fn: (a) => findAll(compileRegex(str(a, 0)), str(a, 1), Number(int(a, 2)), true),
  },
  'regex.replace': {
    arity: 3,
    fn: (a) => goReplaceAll(compileRegex(str(a, 1)), str(a, 0), str(a, 2)),
  },
  'regex.split': {
    arity: 2,
    fn: (a) => {
      const re = compileRegex(str(a, 0));
      const s = str(a, 1);
      const out: string[] = [];
      const m = re.matcher(s);
      let last = 0;
      let from = 0;
      while (from <= s.length && m.find(from)) {
        if (m.end() === 0 && m.start() === 0) {
          from = 1;
          continue;
        }
        out.push(s.slice(last, m.start()));
        last = m.end();
        from = m.end() === m.start() ? m.end() + 1 : m.end();
      }
      out.push(s.slice(last));
      return out;
    },
  },
};
