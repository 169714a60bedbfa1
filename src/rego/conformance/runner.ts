import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { compare, equal } from '../compare.js';
import { RegoError } from '../errors.js';
import { fromJs, toJsonText } from '../json.js';
import { formatValue } from '../format.js';
import { compileModules } from '../policy.js';
import { RegoObject, RegoSet, type RegoValue } from '../value.js';

/** One OPA YAML test case (fields as OPA's test/cases format names them). */
export interface OpaCase {
  readonly note: string;
  readonly query: string;
  readonly modules?: string[] | null;
  readonly data?: unknown;
  readonly input?: unknown;
  readonly input_term?: string;
  readonly want_result?: Record<string, unknown>[] | null;
  readonly sort_bindings?: boolean;
  readonly want_error_code?: string;
  readonly want_error?: string;
  readonly strict_error?: boolean;
}

export interface CaseOutcome {
  readonly file: string;
  readonly note: string;
  readonly status: 'pass' | 'fail' | 'skip';
  readonly reason: string;
}

export interface ConformanceReport {
  readonly outcomes: CaseOutcome[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (name.endsWith('.yaml') || name.endsWith('.yml')) out.push(p);
  }
  return out;
}

/** Sets become sorted arrays so results compare with the YAML expectations. */
function normalize(v: RegoValue, sortArrays: boolean): RegoValue {
  if (v instanceof RegoSet)
    return [...v.values()].map((x) => normalize(x, sortArrays)).sort(compare);
  if (Array.isArray(v)) {
    const xs = (v as RegoValue[]).map((x) => normalize(x, sortArrays));
    return sortArrays ? xs.sort(compare) : xs;
  }
  if (v instanceof RegoObject) {
    return RegoObject.fromEntries(
      [...v.entries()].map(
        ([k, x]) => [typeof k === 'string' ? k : toJsonText(k), normalize(x, false)] as const,
      ),
    );
  }
  return v;
}

function rowValue(row: Record<string, RegoValue>, sortArrays: boolean): RegoValue {
  return RegoObject.fromEntries(
    Object.entries(row).map(([k, v]) => [k, normalize(v, sortArrays)] as const),
  );
}

function describeRows(rows: readonly RegoValue[]): string {
  return '[' + rows.map((r) => formatValue(r)).join(', ') + ']';
}

/** Runs one case with a fresh engine, the harness regorus and OPA use. */
export function runCase(c: OpaCase, file: string, v0: boolean): CaseOutcome {
  const base = { file, note: c.note };
  const wantsError = c.want_error_code !== undefined || c.want_error !== undefined;
  try {
    const policy = compileModules(
      (c.modules ?? []).map((text, i) => ({ path: `test-${i}.rego`, text })),
      { v0 },
    );
    let input: unknown = c.input;
    if (c.input_term !== undefined) input = policy.evaluate(c.input_term).rawValue;
    const res = policy.query(c.query, {
      input,
      data: c.data ?? undefined,
      strict: c.strict_error === true,
    });
    if (wantsError)
      return {
        ...base,
        status: 'fail',
        reason: `expected error ${c.want_error_code ?? ''} ${c.want_error ?? ''}, got ${res.rows.length} row(s)`,
      };
    const sort = c.sort_bindings === true;
    const got = res.rows.map((r) => rowValue(r, sort)).sort(compare);
    const want = (c.want_result ?? [])
      .map((r) => normalize(fromJs(r), false))
      .map((r) =>
        sort && r instanceof RegoObject
          ? RegoObject.fromEntries(
              [...r.entries()].map(([k, v]) => [k, normalize(v, true)] as const),
            )
          : r,
      )
      .sort(compare);
    if (got.length === want.length && got.every((g, i) => equal(g, want[i] ?? null))) {
      return { ...base, status: 'pass', reason: '' };
    }
    return {
      ...base,
      status: 'fail',
      reason: `want ${describeRows(want)} got ${describeRows(got)}`,
    };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (wantsError && err instanceof RegoError) return { ...base, status: 'pass', reason: '' };
    return {
      ...base,
      status: 'fail',
      reason: `${err instanceof RegoError ? '' : 'internal '}error: ${msg}`,
    };
  }
}

/** Runs every case of every YAML file under dir (a `v0` path component selects Rego v0). */
export function runConformance(
  dir: string,
  onOutcome?: (o: CaseOutcome) => void,
): ConformanceReport {
  const outcomes: CaseOutcome[] = [];
  for (const file of yamlFiles(dir)) {
    const rel = relative(dir, file);
    const v0 = rel.split(sep).includes('v0') || file.split(sep).includes('v0');
    let doc: { cases?: OpaCase[] };
    try {
      doc = parseYaml(readFileSync(file, 'utf8'), { intAsBigInt: true }) as { cases?: OpaCase[] };
    } catch (err) {
      const o: CaseOutcome = {
        file: rel,
        note: '(file)',
        status: 'fail',
        reason: `yaml: ${String(err)}`,
      };
      outcomes.push(o);
      onOutcome?.(o);
      continue;
    }
    for (const c of doc.cases ?? []) {
      const o = runCase(c, rel, v0);
      outcomes.push(o);
      onOutcome?.(o);
    }
  }
  const count = (s: CaseOutcome['status']): number => outcomes.filter((o) => o.status === s).length;
  return { outcomes, passed: count('pass'), failed: count('fail'), skipped: count('skip') };
}
