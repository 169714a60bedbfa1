import { readFileSync } from 'node:fs';
import {
  CcError,
  describeError,
  isPlainObject,
  parseCommandArgs,
  UsageError,
  writeLine,
  type Command,
} from '#src/lib/index.js';
import {
  compileModules,
  explainRule,
  PolicySession,
  type CompiledPolicy,
  type JsonValue,
  type RegoModuleSource,
} from '#src/rego/index.js';

/** Request names the guest agent allows when the policy has no rule (guest/policy keeps the same list). */
export const UNPOLICED_WHEN_UNDEFINED = ['CheckRequest'];

const MAX_PRINTS = 8;

function inputError(message: string): CcError {
  return new CcError('invalid_argument', 'ERR_CLI_INPUT', message);
}

/** A replay line `["<RequestName>", {request}]` or a testcase `{kind, request}`. */
export function parseRequestLine(text: string, at: string): [string, unknown] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw inputError(`${at}: not JSON: ${describeError(err)}`);
  }
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string')
    return [v[0], v[1] as unknown];
  if (isPlainObject(v) && typeof v['kind'] === 'string') return [v['kind'], v['request']];
  throw inputError(
    `${at}: expected ["<RequestName>", {request}] (the agent's policy request log format) or {"kind", "request"}`,
  );
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw inputError(`cannot read ${file}: ${describeError(err)}`);
  }
}

function show(v: JsonValue | undefined): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function explainLines(
  session: PolicySession,
  sources: readonly RegoModuleSource[],
  v0: boolean,
  name: string,
  request: unknown,
): string[] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw inputError(`request name ${JSON.stringify(name.slice(0, 80))} is not a Rego identifier`);
  const state = session.state;
  const policy: CompiledPolicy = session.policy;
  const raw = policy.evaluate(['agent_policy', name], { input: request, data: { pstate: state } });
  const d = session.decide(name, request);
  const out = [
    `${name}: ${d.policyAllowed ? 'ALLOWED' : 'DENIED'}${d.allowed && !d.policyAllowed ? ' (but let through: AllowRequestsFailingPolicy is true)' : ''}`,
    `rule: data.agent_policy.${name} = ${d.isUndefined ? 'undefined (no rule, no default)' : show(raw.value)}`,
  ];
  if (d.isUndefined && d.allowed)
    out.push(`${name} is not policed when the policy has no rule for it`);
  if (d.ops.length > 0) out.push(`state changes: ${show(d.ops as JsonValue)}`);
  if (!d.policyAllowed && d.violations.length > 0) {
    out.push(`violations (data.agent_policy.violations.${name}):`);
    for (const v of d.violations) out.push(`  - ${v}`);
  } else if (!d.policyAllowed) {
    const clauses = explainRule(sources, ['agent_policy', name], {
      v0,
      input: request,
      data: { pstate: state },
    });
    if (clauses.length === 0)
      out.push(
        d.isUndefined
          ? `the policy has no rule for ${name}`
          : 'only the default value applies: no clause of the rule has a body',
      );
    for (const c of clauses)
      out.push(
        c.failed === undefined
          ? `clause ${c.at}: the body holds (${String(c.total)} expressions); its value is not an allow`
          : `clause ${c.at}: ${String(c.passed)} of ${String(c.total)} expressions hold; fails at ${c.failed.at}: ${c.failed.text}`,
      );
  }
  const prints = d.prints.slice(-MAX_PRINTS);
  if (prints.length > 0) {
    out.push(`last print() lines (${String(d.prints.length)} in all):`);
    for (const p of prints) out.push(`  ${p.length > 200 ? `${p.slice(0, 200)}…` : p}`);
  }
  return out;
}

export const policyExplainCommand: Command = {
  name: 'explain',
  summary: 'show why an agent policy allows or denies a request',
  help: `Usage: kata-cc policy explain --policy FILE [--v0] REQUEST.json
       kata-cc policy explain --policy FILE [--v0] --replay REQUESTS.jsonl --line N

Evaluates one request as the guest agent does and prints the verdict, the rule's value, and why:
for kata-cc's rules the violations (field, expected, actual); for other policies (genpolicy) each
clause of the rule with the first body expression that does not hold, and the last print() lines.
REQUEST.json is ["<RequestName>", {request}] or {"kind": NAME, "request": {…}}. With --replay,
lines 1..N-1 of the request log are evaluated first so the policy state is the one the agent had.

Options:
  --policy FILE       the policy (initdata policy.rego, or a generated one)
  --v0                parse the policy as Rego v0 (genpolicy output)
  --replay FILE       a request log (the agent's "policy" trace switch)
  --line N            the line of --replay to explain (1-based)`,
  run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      policy: { type: 'string' },
      v0: { type: 'boolean' },
      replay: { type: 'string' },
      line: { type: 'string' },
    });
    if (values.policy === undefined) throw new UsageError('missing --policy FILE');
    const v0 = values.v0 === true;
    const sources = [{ path: values.policy, text: readText(values.policy) }];
    const session = new PolicySession(compileModules(sources, { v0 }), {
      allowUndefined: UNPOLICED_WHEN_UNDEFINED,
    });
    let target: [string, unknown];
    if (values.replay !== undefined) {
      if (positionals.length > 0) throw new UsageError('give either REQUEST.json or --replay');
      const n = Number(values.line);
      if (!Number.isInteger(n) || n < 1)
        throw new UsageError('--line N: expected a line number ≥ 1');
      const lines = readText(values.replay).split('\n');
      if (n > lines.length || (lines[n - 1] ?? '').trim() === '')
        throw inputError(`${values.replay}:${String(n)}: no request on that line`);
      for (let i = 0; i < n - 1; i++) {
        const l = lines[i] ?? '';
        if (l.trim() === '') continue;
        const [name, req] = parseRequestLine(l, `${values.replay}:${String(i + 1)}`);
        session.decide(name, req);
      }
      target = parseRequestLine(lines[n - 1] ?? '', `${values.replay}:${String(n)}`);
    } else {
      const [file, extra] = positionals;
      if (file === undefined || extra !== undefined)
        throw new UsageError('expected exactly one REQUEST.json');
      target = parseRequestLine(readText(file), file);
    }
    for (const l of explainLines(session, sources, v0, target[0], target[1]))
      writeLine(ctx.stdout, l);
    return Promise.resolve(0);
  },
};
