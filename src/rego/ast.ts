import type { Location } from './errors.js';
import type { RegoValue } from './value.js';

/** Terms of the Rego AST. Every node carries its source location. */
export type Term =
  | ScalarTerm
  | VarTerm
  | RefTerm
  | ArrayTerm
  | ObjectTerm
  | SetTerm
  | CallTerm
  | ArrayComprehension
  | SetComprehension
  | ObjectComprehension;

export interface ScalarTerm {
  readonly type: 'scalar';
  readonly value: RegoValue;
  readonly loc: Location;
}
export interface VarTerm {
  readonly type: 'var';
  name: string;
  readonly loc: Location;
}
/** `head.a[b]…`: head is a var (`data`, `input`, a local) or any other term. */
export interface RefTerm {
  readonly type: 'ref';
  head: Term;
  readonly path: Term[];
  readonly loc: Location;
}
export interface ArrayTerm {
  readonly type: 'array';
  readonly items: Term[];
  readonly loc: Location;
}
export interface ObjectTerm {
  readonly type: 'object';
  readonly entries: [Term, Term][];
  readonly loc: Location;
}
export interface SetTerm {
  readonly type: 'set';
  readonly items: Term[];
  readonly loc: Location;
}
/** A call; `fn` is the dotted name as written (`count`, `regex.match`, `data.x.f`). */
export interface CallTerm {
  readonly type: 'call';
  fn: string[];
  readonly args: Term[];
  readonly loc: Location;
  /** @internal the evaluator's resolved call target, filled at the first call */
  resolved?: unknown;
}
export interface ArrayComprehension {
  readonly type: 'arraycompr';
  readonly head: Term;
  readonly body: Expr[];
  readonly loc: Location;
}
export interface SetComprehension {
  readonly type: 'setcompr';
  readonly head: Term;
  readonly body: Expr[];
  readonly loc: Location;
}
export interface ObjectComprehension {
  readonly type: 'objcompr';
  readonly key: Term;
  readonly value: Term;
  readonly body: Expr[];
  readonly loc: Location;
}

export interface WithModifier {
  readonly target: Term;
  readonly value: Term;
  readonly loc: Location;
}

export type Expr = TermExpr | UnifyExpr | SomeExpr | SomeInExpr | EveryExpr | NotExpr;

interface ExprBase {
  readonly loc: Location;
  readonly with: WithModifier[];
}
export interface TermExpr extends ExprBase {
  readonly type: 'term';
  readonly term: Term;
}
/** `a = b` (unify) or `a := b` (assign: declares the vars of the left side). */
export interface UnifyExpr extends ExprBase {
  readonly type: 'unify';
  readonly op: '=' | ':=';
  readonly left: Term;
  readonly right: Term;
}
export interface SomeExpr extends ExprBase {
  readonly type: 'some';
  readonly vars: VarTerm[];
}
/** `some v in xs` / `some k, v in xs`. */
export interface SomeInExpr extends ExprBase {
  readonly type: 'somein';
  readonly key: Term | undefined;
  readonly value: Term;
  readonly domain: Term;
}
export interface EveryExpr extends ExprBase {
  readonly type: 'every';
  readonly key: VarTerm | undefined;
  readonly value: VarTerm;
  readonly domain: Term;
  readonly body: Expr[];
}
export interface NotExpr extends ExprBase {
  readonly type: 'not';
  readonly expr: Expr;
}

export type RuleKind = 'complete' | 'set' | 'object' | 'function';

export interface ElseClause {
  readonly value: Term;
  readonly body: Expr[];
  readonly loc: Location;
}

export interface Rule {
  readonly kind: RuleKind;
  /** Path below `data`: package path + head ref (without the partial-set/object key). */
  readonly path: string[];
  readonly isDefault: boolean;
  /** partial set element / partial object key */
  readonly key: Term | undefined;
  /** value (complete, object, function); `true` when omitted */
  readonly value: Term;
  readonly args: Term[];
  readonly body: Expr[];
  readonly elses: ElseClause[];
  readonly loc: Location;
  readonly file: string;
}

export interface Import {
  readonly path: string[];
  readonly alias: string;
  readonly loc: Location;
}

export interface Module {
  readonly file: string;
  readonly pkg: string[];
  readonly imports: Import[];
  readonly rules: Rule[];
}
