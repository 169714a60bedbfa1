import type { Expr, Module, Rule, Term } from './ast.js';
import { checkCalls } from './check.js';
import { BUILTINS } from './builtins/index.js';
import { buildTree, resolveQuery, type DataNode } from './compile.js';
import { RegoError } from './errors.js';
import { Evaluator, type Env } from './eval.js';
import type { EvalState } from './eval-state.js';
import { fromJs, toJs, type JsonValue } from './json.js';
import { parseModule, parseQuery } from './parser.js';
import { SharedValues } from './shared-values.js';
import { stableGroups } from './stable-rules.js';
import { queryVars } from './term-info.js';
import { RegoObject, type RegoValue } from './value.js';

export interface RegoModuleSource {
  readonly path: string;
  readonly text: string;
}

export interface CompileOptions {
  /** Parse all modules as Rego v0 (`p { … }`, `p[x] { … }`; keywords via future.keywords). */
  readonly v0?: boolean | undefined;
}

export interface EvaluateOptions {
  /** JSON-like input (plain JS data) or an already-converted Rego value. */
  readonly input?: unknown;
  /** Base documents under `data` (plain JS data). */
  readonly data?: unknown;
  /** Builtin errors abort evaluation (OPA strict-builtin-errors) instead of making it undefined. */
  readonly strict?: boolean | undefined;
  /** Receives each print() line as it is produced. */
  readonly print?: ((line: string) => void) | undefined;
  /**
   * Also return print() lines in `prints`. print() arguments are formatted only when a `print`
   * sink is given or this is true; otherwise print() costs nothing (as OPA without a print hook).
   */
  readonly capturePrints?: boolean | undefined;
  /** Clock for time.now_ns, in nanoseconds since the epoch. */
  readonly now?: (() => bigint) | undefined;
}

export interface EvaluateResult {
  /** JSON-compatible value of the query (first solution); absent when undefined. */
  readonly value?: JsonValue;
  /** The same value as a Rego value (sets, exact big integers). */
  readonly rawValue?: RegoValue;
  /** print() lines, when `capturePrints` was set. */
  readonly prints: string[];
}

export interface QueryResult {
  /** One row per solution: query variable → value. */
  readonly rows: Record<string, RegoValue>[];
  readonly prints: string[];
}

/** A query given as a path below `data`, e.g. ['agent_policy', 'CreateContainerRequest']. */
export type RefPath = readonly string[];

/** Parsed and indexed modules; evaluate many times with different input. */
export class CompiledPolicy {
  readonly modules: readonly Module[];
  readonly #root: DataNode;
  readonly #queries = new Map<string, Expr[]>();
  /** Stable rule values shared by evaluations: [non-strict, strict] (builtin errors differ). */
  readonly #shared: readonly [SharedValues, SharedValues];
  constructor(modules: readonly Module[]) {
    this.modules = modules;
    this.#root = buildTree(modules);
    checkCalls(allRules(this.#root), this.#root, BUILTINS);
    const stable = stableGroups(this.#root, BUILTINS);
    this.#shared = [new SharedValues(stable), new SharedValues(stable)];
  }

  /** @internal what the shared cache holds (tests): stable rule values and function results */
  sharedCounts(strict = false): { rules: number; calls: number } {
    const s = this.#shared[strict ? 1 : 0];
    return { rules: s.ruleCount, calls: s.callCount };
  }

  /** Evaluates a single-term query (`data.pkg.rule`, or a RefPath) and returns its first value. */
  evaluate(query: string | RefPath, opts: EvaluateOptions = {}): EvaluateResult {
    return guardStack(() => this.#evaluate(query, opts));
  }

  /** Evaluates a query body and returns every solution's variable bindings. */
  query(text: string, opts: EvaluateOptions = {}): QueryResult {
    return guardStack(() => this.#query(text, opts));
  }

  #evaluate(query: string | RefPath, opts: EvaluateOptions): EvaluateResult {
    const text =
      typeof query === 'string'
        ? query
        : ['data', ...query].map((p, i) => (i === 0 ? p : `[${JSON.stringify(p)}]`)).join('');
    const body = this.#compileQuery(text);
    const { ev, prints } = this.#evaluator(opts);
    let value: RegoValue | undefined;
    const env: Env = new Map();
    const last = body[body.length - 1];
    if (body.length === 1 && last?.type === 'term' && last.with.length === 0) {
      ev.evalTerm(last.term, env, (v) => ((value = v), true));
    } else {
      ev.evalBody(body, 0, env, () => ((value = true), true));
    }
    return value === undefined ? { prints } : { value: toJs(value), rawValue: value, prints };
  }

  #query(text: string, opts: EvaluateOptions): QueryResult {
    const body = this.#compileQuery(text);
    const vars = queryVars(body.flatMap(exprTerms));
    const { ev, prints } = this.#evaluator(opts);
    const rows: Record<string, RegoValue>[] = [];
    const env: Env = new Map();
    ev.evalBody(body, 0, env, () => {
      const row: Record<string, RegoValue> = {};
      for (const v of vars) {
        const x = env.get(v);
        if (x !== undefined) row[v] = x;
      }
      rows.push(row);
      return false;
    });
    return { rows, prints };
  }

  #compileQuery(text: string): Expr[] {
    let body = this.#queries.get(text);
    if (!body) {
      body = resolveQuery(parseQuery(text));
      checkCalls([queryRule(body)], this.#root, BUILTINS);
      if (this.#queries.size > 1000) this.#queries.clear();
      this.#queries.set(text, body);
    }
    return body;
  }

  #evaluator(opts: EvaluateOptions): { ev: Evaluator; prints: string[] } {
    const prints: string[] = [];
    const sink = opts.print;
    const st: EvalState = {
      input: opts.input === undefined ? undefined : fromJs(opts.input, 'input'),
      data: opts.data === undefined ? new RegoObject() : fromJs(opts.data, 'data'),
      overrides: undefined,
      mocks: new Map(),
      cache: new Map(),
    };
    const nowNs = opts.now ? opts.now() : BigInt(Date.now()) * 1_000_000n;
    const ev = new Evaluator(
      {
        root: this.#root,
        builtins: BUILTINS,
        strict: opts.strict === true,
        print:
          sink === undefined && opts.capturePrints !== true
            ? undefined
            : (line) => {
                if (opts.capturePrints === true) prints.push(line);
                sink?.(line);
              },
        ctx: { nowNs },
        shared: this.#shared[opts.strict === true ? 1 : 0],
      },
      st,
    );
    return { ev, prints };
  }
}

/** Hostile input (deeply nested documents) must fail the evaluation, not the process. */
function guardStack<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof RangeError) {
      throw new RegoError(
        'resource_exhausted',
        'ERR_REGO_EVAL',
        `rego evaluation aborted: ${err.message}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

function* allRules(node: DataNode): Generator<Rule> {
  if (node.group) {
    yield* node.group.rules;
    if (node.group.defaultRule) yield node.group.defaultRule;
  }
  for (const c of node.children.values()) yield* allRules(c);
}

/** A query body wrapped as a rule, for the call checker. */
function queryRule(body: Expr[]): Rule {
  const loc = { file: '<query>', line: 1, col: 1 };
  const value: Term = { type: 'scalar', value: true, loc };
  return {
    kind: 'complete',
    path: [],
    isDefault: false,
    key: undefined,
    value,
    args: [],
    body,
    elses: [],
    loc,
    file: '<query>',
  };
}

function exprTerms(e: Expr): Term[] {
  switch (e.type) {
    case 'term':
      return [e.term];
    case 'unify':
      return [e.left, e.right];
    case 'some':
      return [...e.vars];
    case 'somein':
      return e.key ? [e.key, e.value] : [e.value];
    case 'every':
      return [];
    case 'not':
      return [];
  }
}

/** Parses and indexes modules once. Parse errors name `file:line:col`. */
export function compileModules(
  modules: readonly RegoModuleSource[],
  opts: CompileOptions = {},
): CompiledPolicy {
  const parsed = modules.map((m) => parseModule(m.path, m.text, { v0: opts.v0 }));
  return new CompiledPolicy(parsed);
}

export { RegoError };
