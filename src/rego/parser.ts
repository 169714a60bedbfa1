import type { ElseClause, Expr, Import, Module, Rule, RuleKind, Term } from './ast.js';
import { parseError, type Location } from './errors.js';
import { tokenize } from './lexer.js';
import { describe, TermParser, type FutureKeyword } from './parser-terms.js';

export interface ParseOptions {
  /** Parse Rego v0 syntax (keywords only via `import future.keywords…` / `import rego.v1`). */
  readonly v0?: boolean | undefined;
}

const ALL_KEYWORDS: readonly FutureKeyword[] = ['if', 'contains', 'in', 'every'];

/** Parses one module. Errors are `ERR_REGO_PARSE` with `file:line:col: message`. */
export function parseModule(file: string, text: string, opts: ParseOptions = {}): Module {
  return new ModuleParser(file, text, opts.v0 === true).parse();
}

/** Parses a query (a body: expressions separated by `;` or newlines). */
export function parseQuery(text: string): Expr[] {
  const p = new ModuleParser('<query>', text, false);
  for (const k of ALL_KEYWORDS) p.keywords.add(k);
  return p.parseQueryBody();
}

class ModuleParser extends TermParser {
  readonly #file: string;
  readonly #v0: boolean;
  constructor(file: string, text: string, v0: boolean) {
    super(tokenize(text, file));
    this.#file = file;
    this.#v0 = v0;
    if (!v0) for (const k of ALL_KEYWORDS) this.keywords.add(k);
  }

  parse(): Module {
    const t = this.peek();
    if (!(t.kind === 'ident' && t.text === 'package')) {
      throw parseError(t.loc, 'expected "package" at the start of the module');
    }
    this.next();
    const pkg = this.parseDottedPath(true);
    const imports: Import[] = [];
    while (this.peek().kind === 'ident' && this.peek().text === 'import')
      imports.push(this.parseImport());
    const rules: Rule[] = [];
    while (this.peek().kind !== 'eof') rules.push(...this.parseRule(pkg));
    return { file: this.#file, pkg, imports, rules };
  }

  private parseDottedPath(allowBrackets: boolean): string[] {
    const out = [this.expectIdent().text];
    for (;;) {
      if (this.isPunct('.') && !this.peek().ws) {
        this.next();
        out.push(this.expectIdent().text);
      } else if (allowBrackets && this.isPunct('[') && !this.peek().ws) {
        this.next();
        const s = this.next();
        if (s.kind !== 'string') throw parseError(s.loc, 'expected string in package path');
        out.push(s.text);
        this.expect(']');
      } else {
        return out;
      }
    }
  }

  private parseImport(): Import {
    const loc = this.next().loc;
    const path = this.parseDottedPath(true);
    const root = path[0];
    if (root === 'future' && path[1] === 'keywords') {
      const kw = path[2];
      if (kw === undefined) for (const k of ALL_KEYWORDS) this.keywords.add(k);
      else if ((ALL_KEYWORDS as readonly string[]).includes(kw)) {
        this.keywords.add(kw as FutureKeyword);
        if (kw === 'every') this.keywords.add('in');
      } else throw parseError(loc, `unexpected keyword import future.keywords.${kw}`);
      return { path, alias: '', loc };
    }
    if (root === 'rego' && path[1] === 'v1') {
      for (const k of ALL_KEYWORDS) this.keywords.add(k);
      return { path, alias: '', loc };
    }
    if (root !== 'data' && root !== 'input') {
      throw parseError(loc, `import path must begin with data or input, got ${path.join('.')}`);
    }
    let alias = path[path.length - 1] ?? root;
    if (this.isKeyword('as')) {
      this.next();
      alias = this.expectIdent().text;
    }
    return { path, alias, loc };
  }

  private parseRule(pkg: string[]): Rule[] {
    const start = this.peek();
    const isDefault = this.isKeyword('default');
    if (isDefault) this.next();
    const nameTok = this.expectIdent();
    const head: Term[] = [];
    for (;;) {
      if (this.isPunct('.')) {
        this.next();
        const id = this.expectIdent();
        head.push({ type: 'scalar', value: id.text, loc: id.loc });
      } else if (this.isPunct('[')) {
        this.next();
        head.push(this.parseTerm());
        this.expect(']');
      } else break;
    }
    let args: Term[] | undefined;
    if (this.isPunct('(')) {
      this.next();
      args = [];
      while (!this.isPunct(')')) {
        args.push(this.parseTerm());
        if (!this.accept(',')) break;
      }
      this.expect(')');
    }
    let setKey: Term | undefined;
    if (this.isKeyword('contains')) {
      this.next();
      setKey = this.parseTerm();
    }
    let value: Term | undefined;
    if (this.isPunct(':=') || this.isPunct('=')) {
      this.next();
      value = this.parseTerm();
    }
    const loc = start.loc;
    if (isDefault) {
      if (value === undefined) throw parseError(loc, 'default rule must have a value');
      return [this.makeRule(pkg, nameTok.text, head, args, setKey, value, [], [], true, loc)];
    }
    const bodies = this.parseRuleBodies();
    const elses: ElseClause[] = [];
    while (this.isKeyword('else')) {
      const eloc = this.next().loc;
      let ev: Term = { type: 'scalar', value: true, loc: eloc };
      if (this.isPunct(':=') || this.isPunct('=')) {
        this.next();
        ev = this.parseTerm();
      }
      const ebody = this.parseRuleBodies()[0] ?? [trueExpr(eloc)];
      elses.push({ value: ev, body: ebody, loc: eloc });
    }
    if (elses.length > 0 && (setKey || bodies.length > 1)) {
      throw parseError(loc, 'else keyword cannot be used on multi-value rules');
    }
    this.expectRuleEnd(nameTok.text);
    const list = bodies.length > 0 ? bodies : [[trueExpr(loc)]];
    return list.map((body, i) =>
      this.makeRule(
        pkg,
        nameTok.text,
        head,
        args,
        setKey,
        value,
        body,
        i === 0 ? elses : [],
        false,
        loc,
      ),
    );
  }

  /** A rule ends at a line break: `p if { … }` in v0 without the `if` import is not `p` then `if`. */
  private expectRuleEnd(name: string): void {
    const t = this.peek();
    if (t.nl || t.kind === 'eof') return;
    const hint =
      this.#v0 && (t.text === 'if' || t.text === 'contains')
        ? ` (Rego v0 needs \`import future.keywords.${t.text}\` or \`import rego.v1\` for it)`
        : '';
    throw parseError(t.loc, `unexpected ${JSON.stringify(t.text)} after rule ${name}${hint}`);
  }

  /** `if { … }`, `if expr`, `{ … }` (v0), or nothing. v0 allows several `{ … }` bodies. */
  private parseRuleBodies(): Expr[][] {
    if (this.isKeyword('if')) {
      this.next();
      if (this.isPunct('{')) {
        const save = this.pos;
        try {
          return [this.parseBracedBody()];
        } catch (err) {
          this.pos = save;
          try {
            return [[this.parseExpr()]];
          } catch {
            throw err;
          }
        }
      }
      return [[this.parseExpr()]];
    }
    const out: Expr[][] = [];
    if (this.isPunct('{') && !this.peek().nl && !this.#v0) {
      throw parseError(this.peek().loc, '`if` keyword is required before rule body');
    }
    while (this.isPunct('{') && !this.peek().nl) out.push(this.parseBracedBody());
    return out;
  }

  private makeRule(
    pkg: string[],
    name: string,
    head: Term[],
    args: Term[] | undefined,
    setKey: Term | undefined,
    value: Term | undefined,
    body: Expr[],
    elses: ElseClause[],
    isDefault: boolean,
    loc: Location,
  ): Rule {
    const path = [...pkg, name];
    let key: Term | undefined = setKey;
    let kind: RuleKind = args ? 'function' : setKey ? 'set' : 'complete';
    for (let i = 0; i < head.length; i++) {
      const h = head[i] as Term;
      if (h.type === 'scalar' && typeof h.value === 'string') {
        path.push(h.value);
        continue;
      }
      if (i !== head.length - 1 || args || setKey) {
        throw parseError(h.loc, 'rule head: variables are only supported in the last position');
      }
      key = h;
      kind = value === undefined && this.#v0 ? 'set' : 'object';
    }
    const v: Term = value ?? { type: 'scalar', value: true, loc };
    if (kind === 'set' && setKey === undefined && value !== undefined) kind = 'object';
    return {
      kind,
      path,
      isDefault,
      key,
      value: v,
      args: args ?? [],
      body,
      elses,
      loc,
      file: this.#file,
    };
  }
}

function trueExpr(loc: Location): Expr {
  return { type: 'term', term: { type: 'scalar', value: true, loc }, loc, with: [] };
}

export { describe };
