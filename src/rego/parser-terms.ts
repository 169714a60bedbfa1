import type { CallTerm, Expr, Term, VarTerm } from './ast.js';
import { parseError, type Location } from './errors.js';
import type { Token } from './lexer.js';
import { normNumber } from './value.js';

const RELATION: Record<string, string> = {
  '==': 'equal',
  '!=': 'neq',
  '<': 'lt',
  '<=': 'lte',
  '>': 'gt',
  '>=': 'gte',
};
const ARITH: Record<string, string> = { '+': 'plus', '-': 'minus' };
const FACTOR: Record<string, string> = { '*': 'mul', '/': 'div', '%': 'rem' };

/** Keywords that only exist when enabled (Rego v1, or v0 with future.keywords imports). */
export type FutureKeyword = 'if' | 'contains' | 'in' | 'every';

/** Term, expression and body parsing over a token list. */
export class TermParser {
  protected readonly toks: Token[];
  protected pos = 0;
  readonly keywords = new Set<FutureKeyword>();
  #wild = 0;
  constructor(toks: Token[]) {
    this.toks = toks;
  }

  protected peek(off = 0): Token {
    return this.toks[Math.min(this.pos + off, this.toks.length - 1)] as Token;
  }
  protected next(): Token {
    const t = this.peek();
    if (this.pos < this.toks.length - 1) this.pos++;
    return t;
  }
  protected isPunct(text: string, off = 0): boolean {
    const t = this.peek(off);
    return t.kind === 'punct' && t.text === text;
  }
  protected isKeyword(word: string, off = 0): boolean {
    const t = this.peek(off);
    if (t.kind !== 'ident' || t.text !== word) return false;
    return (
      word === 'some' ||
      word === 'not' ||
      word === 'with' ||
      word === 'as' ||
      word === 'else' ||
      word === 'default' ||
      this.keywords.has(word as FutureKeyword)
    );
  }
  protected accept(text: string): boolean {
    if (this.isPunct(text)) {
      this.next();
      return true;
    }
    return false;
  }
  protected expect(text: string): Token {
    const t = this.peek();
    if (t.kind !== 'punct' || t.text !== text) {
      throw parseError(t.loc, `expected ${JSON.stringify(text)} but found ${describe(t)}`);
    }
    return this.next();
  }
  protected expectIdent(): Token {
    const t = this.peek();
    if (t.kind !== 'ident') throw parseError(t.loc, `expected identifier but found ${describe(t)}`);
    return this.next();
  }
  protected fail(message: string): never {
    throw parseError(this.peek().loc, message);
  }

  /** `{ expr; expr … }` */
  parseBracedBody(): Expr[] {
    this.expect('{');
    const body: Expr[] = [];
    for (;;) {
      while (this.accept(';'));
      if (this.accept('}')) break;
      body.push(this.parseExpr());
      const t = this.peek();
      if (!(t.kind === 'punct' && (t.text === ';' || t.text === '}')) && !t.nl) {
        this.fail(`unexpected ${describe(t)} after expression`);
      }
    }
    if (body.length === 0) this.fail('body must not be empty');
    return body;
  }

  /** Body of a query: expressions separated by `;` or newlines, until EOF. */
  parseQueryBody(): Expr[] {
    const body: Expr[] = [];
    for (;;) {
      while (this.accept(';'));
      if (this.peek().kind === 'eof') break;
      body.push(this.parseExpr());
      const t = this.peek();
      if (t.kind !== 'eof' && !(t.kind === 'punct' && t.text === ';') && !t.nl) {
        this.fail(`unexpected ${describe(t)} after expression`);
      }
    }
    if (body.length === 0) this.fail('empty query');
    return body;
  }

  parseExpr(): Expr {
    const loc = this.peek().loc;
    let e: Expr;
    if (this.isKeyword('not')) {
      this.next();
      e = { type: 'not', expr: this.parseExpr(), loc, with: [] };
      return e;
    }
    if (this.isKeyword('some')) e = this.parseSome(loc);
    else if (this.isKeyword('every')) e = this.parseEvery(loc);
    else e = this.parsePlainExpr(loc);
    while (this.isKeyword('with')) {
      const wloc = this.next().loc;
      const target = this.parseTerm();
      if (!this.isKeyword('as')) this.fail('expected "as" in with modifier');
      this.next();
      e.with.push({ target, value: this.parseTerm(), loc: wloc });
    }
    return e;
  }

  private parsePlainExpr(loc: Location): Expr {
    let left = this.parseTerm();
    if (this.isPunct(',') && this.keywords.has('in')) {
      this.next();
      const value = this.parseTermNoIn();
      if (!this.isKeyword('in')) this.fail('expected "in" after "key, value"');
      this.next();
      const coll = this.parseTermNoIn();
      left = this.parseInTail(call(['internal', 'member_3'], [left, value, coll], left.loc));
    }
    if (this.isPunct('=') || this.isPunct(':=')) {
      const op = this.next().text as '=' | ':=';
      const right = this.parseTerm();
      return { type: 'unify', op, left, right, loc, with: [] };
    }
    return { type: 'term', term: left, loc, with: [] };
  }

  private parseSome(loc: Location): Expr {
    this.next();
    const terms = [this.parseTermNoIn()];
    while (this.accept(',')) terms.push(this.parseTermNoIn());
    if (this.isKeyword('in')) {
      this.next();
      if (terms.length > 2) this.fail('"some … in" takes one or two variables');
      const domain = this.parseTermNoIn();
      const [a, b] = terms as [Term, Term | undefined];
      return b
        ? { type: 'somein', key: a, value: b, domain, loc, with: [] }
        : { type: 'somein', key: undefined, value: a, domain, loc, with: [] };
    }
    const vars = terms.map((t) => {
      if (t.type !== 'var') throw parseError(t.loc, 'expected variable after "some"');
      return t;
    });
    return { type: 'some', vars, loc, with: [] };
  }

  private parseEvery(loc: Location): Expr {
    this.next();
    const a = this.parseVar();
    let key: VarTerm | undefined;
    let value = a;
    if (this.accept(',')) {
      key = a;
      value = this.parseVar();
    }
    if (!this.isKeyword('in')) this.fail('expected "in" after "every" variables');
    this.next();
    const domain = this.parseTermNoIn();
    const body = this.parseBracedBody();
    return { type: 'every', key, value, domain, body, loc, with: [] };
  }

  private parseVar(): VarTerm {
    const t = this.expectIdent();
    return { type: 'var', name: t.text === '_' ? this.wildcard() : t.text, loc: t.loc };
  }

  protected wildcard(): string {
    return `_$${++this.#wild}`;
  }

  /** A full term including `in` membership. */
  parseTerm(): Term {
    const left = this.parseTermNoIn();
    return this.parseInTail(left);
  }

  protected parseInTail(left: Term): Term {
    let t = left;
    while (this.isKeyword('in')) {
      this.next();
      t = call(['internal', 'member_2'], [t, this.parseTermNoIn()], t.loc);
    }
    return t;
  }

  protected parseTermNoIn(noOr = false): Term {
    let left = this.parseOr(noOr);
    while (this.peek().kind === 'punct' && RELATION[this.peek().text] !== undefined) {
      const op = RELATION[this.next().text] as string;
      left = call([op], [left, this.parseOr(noOr)], left.loc);
    }
    return left;
  }

  private parseOr(noOr: boolean): Term {
    let left = this.parseAnd();
    while (!noOr && this.isPunct('|')) {
      this.next();
      left = call(['or'], [left, this.parseAnd()], left.loc);
    }
    return left;
  }

  private parseAnd(): Term {
    let left = this.parseArith();
    while (this.isPunct('&')) {
      this.next();
      left = call(['and'], [left, this.parseArith()], left.loc);
    }
    return left;
  }

  private parseArith(): Term {
    let left = this.parseFactor();
    while (this.peek().kind === 'punct' && ARITH[this.peek().text] !== undefined) {
      const op = ARITH[this.next().text] as string;
      left = call([op], [left, this.parseFactor()], left.loc);
    }
    return left;
  }

  private parseFactor(): Term {
    let left = this.parseUnary();
    while (this.peek().kind === 'punct' && FACTOR[this.peek().text] !== undefined) {
      const op = FACTOR[this.next().text] as string;
      left = call([op], [left, this.parseUnary()], left.loc);
    }
    return left;
  }

  private parseUnary(): Term {
    if (this.isPunct('-')) {
      const loc = this.next().loc;
      const n = this.peek();
      if (n.kind === 'number' && !n.ws) {
        this.next();
        return this.parseRefTail({ type: 'scalar', value: numberValue('-' + n.text), loc });
      }
      return call(['minus'], [{ type: 'scalar', value: 0, loc }, this.parseUnary()], loc);
    }
    return this.parseRefTail(this.parsePrimary());
  }

  private parsePrimary(): Term {
    const t = this.peek();
    const loc = t.loc;
    switch (t.kind) {
      case 'number':
        this.next();
        return { type: 'scalar', value: numberValue(t.text), loc };
      case 'string':
        this.next();
        return { type: 'scalar', value: t.text, loc };
      case 'ident':
        return this.parseIdentTerm();
      case 'punct':
        if (t.text === '[') return this.parseArrayLike();
        if (t.text === '{') return this.parseBraceLike();
        if (t.text === '(') {
          this.next();
          let inner = this.parseTerm();
          if (this.isPunct(',') && this.keywords.has('in')) {
            this.next();
            const value = this.parseTermNoIn();
            if (!this.isKeyword('in')) this.fail('expected "in" after "key, value"');
            this.next();
            inner = this.parseInTail(
              call(['internal', 'member_3'], [inner, value, this.parseTermNoIn()], inner.loc),
            );
          }
          this.expect(')');
          return inner;
        }
        break;
      case 'eof':
        break;
    }
    throw parseError(loc, `unexpected ${describe(t)}`);
  }

  private parseIdentTerm(): Term {
    const t = this.next();
    const loc = t.loc;
    if (t.text === 'true' || t.text === 'false')
      return { type: 'scalar', value: t.text === 'true', loc };
    if (t.text === 'null') return { type: 'scalar', value: null, loc };
    if (t.text === 'set' && this.isPunct('(') && !this.peek().ws && this.isPunct(')', 1)) {
      this.next();
      this.next();
      return { type: 'set', items: [], loc };
    }
    const isCall = this.isPunct('(') && !this.peek().ws;
    if (RESERVED.has(t.text) || (this.keywords.has(t.text as FutureKeyword) && !isCall)) {
      throw parseError(loc, `unexpected keyword ${t.text}`);
    }
    return { type: 'var', name: t.text === '_' ? this.wildcard() : t.text, loc };
  }

  /** `.name`, `[term]` and `(args)` directly after a term (no whitespace before). */
  protected parseRefTail(head: Term): Term {
    let term = head;
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct' || t.ws) return term;
      if (t.text === '.') {
        this.next();
        const id = this.expectIdent();
        term = appendRef(term, { type: 'scalar', value: id.text, loc: id.loc });
      } else if (t.text === '[') {
        this.next();
        const key = this.parseTerm();
        this.expect(']');
        term = appendRef(term, key);
      } else if (t.text === '(') {
        const fn = callName(term);
        if (!fn) return term;
        this.next();
        const args: Term[] = [];
        while (!this.isPunct(')')) {
          args.push(this.parseTerm());
          if (!this.accept(',')) break;
        }
        this.expect(')');
        term = call(fn, args, term.loc);
      } else {
        return term;
      }
    }
  }

  private parseArrayLike(): Term {
    const loc = this.expect('[').loc;
    if (this.accept(']')) return { type: 'array', items: [], loc };
    const first = this.parseTermNoInOrOpen();
    if (this.accept('|')) {
      const body = this.parseComprehensionBody(']');
      return { type: 'arraycompr', head: first, body, loc };
    }
    const items = [first];
    while (this.accept(',')) {
      if (this.isPunct(']')) break;
      items.push(this.parseTerm());
    }
    this.expect(']');
    return { type: 'array', items, loc };
  }

  private parseTermNoInOrOpen(): Term {
    const left = this.parseTermNoIn(true);
    return this.parseInTail(left);
  }

  private parseBraceLike(): Term {
    const loc = this.expect('{').loc;
    if (this.accept('}')) return { type: 'object', entries: [], loc };
    const first = this.parseTermNoInOrOpen();
    if (this.accept(':')) {
      const value = this.parseTermNoInOrOpen();
      if (this.accept('|')) {
        const body = this.parseComprehensionBody('}');
        return { type: 'objcompr', key: first, value, body, loc };
      }
      const entries: [Term, Term][] = [[first, value]];
      while (this.accept(',')) {
        if (this.isPunct('}')) break;
        const k = this.parseTerm();
        this.expect(':');
        entries.push([k, this.parseTerm()]);
      }
      this.expect('}');
      return { type: 'object', entries, loc };
    }
    if (this.accept('|')) {
      const body = this.parseComprehensionBody('}');
      return { type: 'setcompr', head: first, body, loc };
    }
    const items = [first];
    while (this.accept(',')) {
      if (this.isPunct('}')) break;
      items.push(this.parseTerm());
    }
    this.expect('}');
    return { type: 'set', items, loc };
  }

  private parseComprehensionBody(close: string): Expr[] {
    const body: Expr[] = [];
    for (;;) {
      while (this.accept(';'));
      if (this.accept(close)) break;
      body.push(this.parseExpr());
      const t = this.peek();
      if (!(t.kind === 'punct' && (t.text === ';' || t.text === close)) && !t.nl) {
        this.fail(`unexpected ${describe(t)} in comprehension body`);
      }
    }
    if (body.length === 0) this.fail('comprehension body must not be empty');
    return body;
  }
}

const RESERVED = new Set(['some', 'not', 'with', 'as', 'else', 'default', 'package', 'import']);

export function call(fn: string[], args: Term[], loc: Location): CallTerm {
  return { type: 'call', fn, args, loc, resolved: undefined };
}

function appendRef(term: Term, key: Term): Term {
  if (term.type === 'ref')
    return { type: 'ref', head: term.head, path: [...term.path, key], loc: term.loc };
  return { type: 'ref', head: term, path: [key], loc: term.loc };
}

/** The dotted name of a term usable as a function name, if it is one. */
function callName(term: Term): string[] | undefined {
  if (term.type === 'var') return [term.name];
  if (term.type !== 'ref' || term.head.type !== 'var') return undefined;
  const out = [term.head.name];
  for (const p of term.path) {
    if (p.type !== 'scalar' || typeof p.value !== 'string') return undefined;
    out.push(p.value);
  }
  return out;
}

export function numberValue(text: string): number | bigint {
  if (/^-?\d+$/.test(text)) return normNumber(BigInt(text));
  return normNumber(Number(text));
}

export function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of input';
  if (t.kind === 'string') return 'string';
  return JSON.stringify(t.text);
}
