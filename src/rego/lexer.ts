import { parseError, type Location } from './errors.js';

export type TokenKind = 'ident' | 'string' | 'number' | 'punct' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Source text (identifiers, numbers, punctuation) or the decoded string value. */
  readonly text: string;
  readonly loc: Location;
  /** Whitespace or a comment precedes the token. */
  readonly ws: boolean;
  /** A line break precedes the token. */
  readonly nl: boolean;
}

const PUNCT2 = new Set([':=', '==', '!=', '<=', '>=']);
const PUNCT1 = new Set('{}[]().,;:=<>+-*/%|&!'.split(''));

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/** Splits Rego source into tokens with 1-based line/column locations. */
export function tokenize(src: string, file: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let ws = false;
  let nl = false;
  const loc = (at: number): Location => ({ file, line, col: at - lineStart + 1 });
  while (i < src.length) {
    const c = src[i] ?? '';
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      ws = nl = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      ws = true;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      ws = true;
      continue;
    }
    const start = i;
    const at = loc(start);
    let kind: TokenKind;
    let text: string;
    if (isIdentStart(c)) {
      while (i < src.length && (isIdentStart(src[i] ?? '') || isDigit(src[i] ?? ''))) i++;
      kind = 'ident';
      text = src.slice(start, i);
    } else if (isDigit(c) || (c === '.' && isDigit(src[i + 1] ?? ''))) {
      i = scanNumber(src, i);
      kind = 'number';
      text = src.slice(start, i);
    } else if (c === '"') {
      [text, i] = scanString(src, i, at);
      kind = 'string';
    } else if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end < 0) throw parseError(at, 'unterminated raw string');
      text = src.slice(i + 1, end);
      for (let j = i; j < end; j++) {
        if (src[j] === '\n') {
          line++;
          lineStart = j + 1;
        }
      }
      i = end + 1;
      kind = 'string';
    } else {
      const two = src.slice(i, i + 2);
      if (PUNCT2.has(two)) {
        text = two;
      } else if (PUNCT1.has(c)) {
        text = c;
      } else {
        throw parseError(at, `unexpected character ${JSON.stringify(c)}`);
      }
      i += text.length;
      kind = 'punct';
    }
    out.push({ kind, text, loc: at, ws, nl });
    ws = nl = false;
  }
  out.push({ kind: 'eof', text: '', loc: loc(i), ws, nl: true });
  return out;
}

function scanNumber(src: string, i: number): number {
  while (isDigit(src[i] ?? '')) i++;
  if (src[i] === '.' && isDigit(src[i + 1] ?? '')) {
    i++;
    while (isDigit(src[i] ?? '')) i++;
  }
  if (src[i] === 'e' || src[i] === 'E') {
    let j = i + 1;
    if (src[j] === '+' || src[j] === '-') j++;
    if (isDigit(src[j] ?? '')) {
      i = j;
      while (isDigit(src[i] ?? '')) i++;
    }
  }
  return i;
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

function scanString(src: string, i: number, at: Location): [string, number] {
  let out = '';
  i++;
  for (;;) {
    const c = src[i];
    if (c === undefined || c === '\n') throw parseError(at, 'unterminated string');
    if (c === '"') return [out, i + 1];
    if (c === '\\') {
      const e = src[i + 1] ?? '';
      if (e === 'u') {
        const hex = src.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw parseError(at, 'invalid \\u escape in string');
        out += String.fromCharCode(parseInt(hex, 16));
        i += 6;
        continue;
      }
      const r = ESCAPES[e];
      if (r === undefined) throw parseError(at, `invalid escape \\${e} in string`);
      out += r;
      i += 2;
      continue;
    }
    out += c;
    i++;
  }
}
