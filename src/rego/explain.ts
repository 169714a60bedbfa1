/**
 * Why a rule is undefined or false: for each clause of the rule, the first body expression that
 * no binding of the expressions before it satisfies. Done on the source text: every body prefix
 * becomes a helper rule of the same package (one extra module, one compile), and the shortest
 * prefix that is undefined names the failing expression.
 */
import type { Expr } from './ast.js';
import { compileModules, type CompiledPolicy, type RegoModuleSource } from './policy.js';

export interface ClauseExplanation {
  /** `file:line` of the clause. */
  readonly at: string;
  /** The failing expression's source text and location; undefined when the whole body holds. */
  readonly failed?: { readonly at: string; readonly text: string } | undefined;
  /** How many body expressions held before it. */
  readonly passed: number;
  readonly total: number;
}

export interface ExplainOptions {
  readonly v0?: boolean | undefined;
  readonly input?: unknown;
  readonly data?: unknown;
}

function offsetOf(text: string, line: number, col: number): number {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', off);
    if (nl < 0) return text.length;
    off = nl + 1;
  }
  return off + col - 1;
}

/** End of the expression starting at `from`: the first unmatched `}` or newline at depth 0. */
function expressionEnd(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charAt(i);
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '`') {
      i = text.indexOf('`', i + 1);
      if (i < 0) return text.length;
    } else if (c === '#') {
      const nl = text.indexOf('\n', i);
      if (depth === 0) return nl < 0 ? text.length : nl;
      i = nl < 0 ? text.length : nl;
    } else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) {
      if (depth === 0) return i;
      depth--;
    } else if ((c === '\n' || c === ';') && depth === 0) return i;
  }
  return text.length;
}

interface Probe {
  readonly clause: number;
  readonly k: number;
  readonly name: string;
}

function exprSpan(text: string, e: Expr): [number, number] {
  const start = offsetOf(text, e.loc.line, e.loc.col);
  return [start, expressionEnd(text, start)];
}

/** Explains every clause of `data.<pkg>.<rule>` (pkg and rule as path segments). */
export function explainRule(
  sources: readonly RegoModuleSource[],
  path: readonly string[],
  o: ExplainOptions = {},
): ClauseExplanation[] {
  const policy: CompiledPolicy = compileModules(sources, { v0: o.v0 });
  const probes: Probe[] = [];
  const rules: string[] = [];
  const imports = new Set<string>();
  let pkg: readonly string[] | undefined;
  const clauses: { at: string; total: number; exprs: { at: string; text: string }[] }[] = [];
  for (const m of policy.modules) {
    const src = sources.find((s) => s.path === m.file)?.text ?? '';
    for (const r of m.rules) {
      if (r.isDefault || r.path.join('.') !== path.join('.') || r.body.length === 0) continue;
      const exprs = r.body.map((e) => {
        const [s, end] = exprSpan(src, e);
        return { at: `${e.loc.file}:${String(e.loc.line)}`, text: src.slice(s, end).trim() };
      });
      const clause = clauses.length;
      clauses.push({ at: `${r.file}:${String(r.loc.line)}`, total: exprs.length, exprs });
      if (r.args.length > 0 || (pkg !== undefined && pkg.join('.') !== m.pkg.join('.'))) continue;
      pkg = m.pkg;
      for (const l of src.split('\n')) if (/^\s*import\s/.test(l)) imports.add(l.trim());
      exprs.forEach((_, k) => {
        const name = `__explain_${String(clause)}_${String(k)}`;
        const body = exprs
          .slice(0, k + 1)
          .map((x) => x.text)
          .join('\n  ');
        rules.push(`${name} ${o.v0 === true ? '' : 'if '}{\n  ${body}\n}`);
        probes.push({ clause, k, name });
      });
    }
  }
  if (pkg === undefined) return clauses.map((c) => ({ at: c.at, passed: 0, total: c.total }));
  const text = [`package ${pkg.join('.')}`, ...imports, ...rules].join('\n\n');
  const probed = compileModules([...sources, { path: '(explain)', text }], { v0: o.v0 });
  const pkgPath = pkg;
  return clauses.map((c, ci) => {
    let passed = 0;
    for (const p of probes.filter((x) => x.clause === ci)) {
      const v = probed.evaluate([...pkgPath, p.name], { input: o.input, data: o.data }).value;
      const e = c.exprs[p.k];
      if (v !== true && e !== undefined) {
        return { at: c.at, failed: { at: e.at, text: e.text }, passed, total: c.total };
      }
      passed++;
    }
    return { at: c.at, passed, total: c.total };
  });
}
