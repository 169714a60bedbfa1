/**
 * A stateful policy session: one compiled policy asked about a sequence of requests, with a JSON
 * state document carried from request to request. A rule may answer a boolean or
 * `{ allowed, ops }`, where `ops` is an RFC 6902 JSON patch applied to the data document holding
 * the state (`{ <stateKey>: state }`) once the request is allowed. Generic: it knows Rego values
 * and JSON patches, not agents (Kata's agent policy is one user).
 */
import { CcError, isPlainObject, type ErrorKind } from '#src/lib/index.js';
import type { JsonValue } from './json.js';
import type { CompiledPolicy } from './policy.js';

export type PolicySessionErrorCode = 'ERR_POLICY_RESULT' | 'ERR_POLICY_PATCH';

export class PolicySessionError extends CcError {
  declare readonly code: PolicySessionErrorCode;
  constructor(kind: ErrorKind, code: PolicySessionErrorCode, message: string) {
    super(kind, code, message);
  }
}

export interface PolicySessionOptions {
  /** Rego package of the rules, default `agent_policy`. */
  readonly packageName?: string | undefined;
  /** Key of the state document under `data`, default `pstate`. */
  readonly stateKey?: string | undefined;
  /** Rule that, when true, turns denials into logged allows; default `AllowRequestsFailingPolicy`. */
  readonly permissiveRule?: string | undefined;
  /** Request names allowed when the policy has no rule for them at all (undefined). */
  readonly allowUndefined?: readonly string[] | undefined;
  /** Initial state, default `{}`. */
  readonly state?: JsonValue | undefined;
}

export interface SessionDecision {
  readonly request: string;
  /** The final verdict (true also when the policy failed but the permissive rule is set). */
  readonly allowed: boolean;
  /** What the rule itself said. */
  readonly policyAllowed: boolean;
  /** The rule was undefined (no rule and no default). */
  readonly isUndefined: boolean;
  /** print() lines of the evaluation. */
  readonly prints: readonly string[];
  /** Patch operations applied to the state (empty when denied). */
  readonly ops: readonly JsonValue[];
  /**
   * When denied: the strings of `data.<pkg>.violations.<request>` (kata-cc's rules name the
   * failing field, expected and actual value there); empty when the policy has none.
   */
  readonly violations: readonly string[];
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A policy plus its state; `decide` evaluates one request and applies the ops of an allow. */
export class PolicySession {
  #policy: CompiledPolicy;
  #state: JsonValue;
  readonly #pkg: string;
  readonly #stateKey: string;
  readonly #permissiveRule: string;
  readonly #allowUndefined: ReadonlySet<string>;

  constructor(policy: CompiledPolicy, o: PolicySessionOptions = {}) {
    this.#policy = policy;
    this.#pkg = o.packageName ?? 'agent_policy';
    this.#stateKey = o.stateKey ?? 'pstate';
    this.#permissiveRule = o.permissiveRule ?? 'AllowRequestsFailingPolicy';
    this.#allowUndefined = new Set(o.allowUndefined ?? []);
    this.#state = structuredClone(o.state ?? {});
  }

  get policy(): CompiledPolicy {
    return this.#policy;
  }

  /** A copy of the current state. */
  get state(): JsonValue {
    return structuredClone(this.#state);
  }

  /** Replaces the policy; the state is kept (as the Kata agent does on SetPolicy). */
  replacePolicy(policy: CompiledPolicy): void {
    this.#policy = policy;
  }

  /** Evaluates any rule of the package (helper rules, policy data) with the current state. */
  evaluateRule(rule: string, input: unknown): JsonValue | undefined {
    return this.#policy.evaluate([this.#pkg, rule], { input, data: this.#data() }).value;
  }

  /** Is the permissive rule (allow requests failing the policy) true? */
  get isPermissive(): boolean {
    return this.evaluateRule(this.#permissiveRule, {}) === true;
  }

  /** Evaluates `data.<pkg>.<request>` with `input` = request; applies the ops when allowed. */
  decide(request: string, input: unknown): SessionDecision {
    if (!IDENT.test(request))
      throw new PolicySessionError(
        'invalid_argument',
        'ERR_POLICY_RESULT',
        `request name ${JSON.stringify(request.slice(0, 80))} is not a Rego identifier`,
      );
    const r = this.#policy.evaluate([this.#pkg, request], {
      input,
      data: this.#data(),
      capturePrints: true,
      print: () => undefined,
    });
    const isUndefined = r.value === undefined;
    const verdict = isUndefined
      ? { allowed: this.#allowUndefined.has(request), ops: [] }
      : parseVerdict(r.value, `data.${this.#pkg}.${request}`);
    let allowed = verdict.allowed;
    let ops: readonly JsonValue[] = [];
    if (allowed && verdict.ops.length > 0) {
      this.#state = applyStatePatch(this.#state, this.#stateKey, verdict.ops);
      ops = verdict.ops;
    }
    const violations = verdict.allowed ? [] : this.violations(request, input);
    if (!allowed && this.isPermissive) allowed = true;
    return {
      request,
      allowed,
      policyAllowed: verdict.allowed,
      isUndefined,
      prints: r.prints,
      ops,
      violations,
    };
  }

  /** `data.<pkg>.violations.<request>` as strings (sorted), [] when undefined or not a set. */
  violations(request: string, input: unknown): string[] {
    let v: JsonValue | undefined;
    try {
      v = this.#policy.evaluate([this.#pkg, 'violations', request], {
        input,
        data: this.#data(),
      }).value;
    } catch {
      return []; // the verdict stands; the reason falls back to print() lines
    }
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  }

  #data(): Record<string, JsonValue> {
    return { [this.#stateKey]: this.#state };
  }
}

/** How many trailing print() lines `describeDenial` quotes, and how long each may be. */
const PRINT_TAIL = 2;
/** How many violation messages a denial reason quotes. */
const MAX_VIOLATIONS = 5;
const MAX_LINE = 160;

/** A short denial reason: no rule, the policy's violations, or the rule was false plus its last print lines. */
export function describeDenial(
  d: Pick<SessionDecision, 'request' | 'prints' | 'isUndefined'> & {
    readonly violations?: readonly string[] | undefined;
  },
): string {
  if (d.isUndefined) return `the policy has no rule for ${d.request}`;
  if (d.violations !== undefined && d.violations.length > 0) {
    const shown = d.violations.slice(0, MAX_VIOLATIONS).join('; ');
    const more = d.violations.length - MAX_VIOLATIONS;
    return more > 0 ? `${shown}; and ${String(more)} more` : shown;
  }
  const tail = d.prints
    .slice(-PRINT_TAIL)
    .map((l) => (l.length > MAX_LINE ? `${l.slice(0, MAX_LINE)}…` : l));
  return tail.length > 0
    ? `${d.request} rule is false (last policy output: ${tail.join(' | ')})`
    : `${d.request} rule is false`;
}

/** A rule value: `true`/`false`, or `{ allowed: boolean, ops?: patch[] }` (genpolicy). */
export function parseVerdict(
  value: JsonValue | undefined,
  at: string,
): { allowed: boolean; ops: JsonValue[] } {
  if (typeof value === 'boolean') return { allowed: value, ops: [] };
  if (isPlainObject(value) && typeof value['allowed'] === 'boolean') {
    const ops = value['ops'] ?? [];
    if (!Array.isArray(ops))
      throw new PolicySessionError('internal', 'ERR_POLICY_RESULT', `${at}.ops: expected array`);
    return { allowed: value['allowed'], ops: ops.filter((op) => op !== null) };
  }
  throw new PolicySessionError(
    'internal',
    'ERR_POLICY_RESULT',
    `${at}: expected a boolean or {allowed, ops}, got ${JSON.stringify(value).slice(0, 120)}`,
  );
}

function patchError(message: string): PolicySessionError {
  return new PolicySessionError('internal', 'ERR_POLICY_PATCH', `policy state patch: ${message}`);
}

/** Applies `ops` to `{ [stateKey]: state }`; every path must lie inside `/<stateKey>`. */
export function applyStatePatch(
  state: JsonValue,
  stateKey: string,
  ops: readonly JsonValue[],
): JsonValue {
  const doc = applyJsonPatch({ [stateKey]: state }, ops);
  if (!isPlainObject(doc) || !(stateKey in doc) || Object.keys(doc).length !== 1)
    throw patchError(`operations must stay inside /${stateKey}`);
  return doc[stateKey] as JsonValue;
}

function parsePointer(path: unknown, at: string): string[] {
  if (typeof path !== 'string' || (path !== '' && !path.startsWith('/')))
    throw patchError(`${at}: expected a JSON pointer, got ${JSON.stringify(path)}`);
  if (path === '') return [];
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

type Container = Record<string, JsonValue> | JsonValue[];

function walk(doc: JsonValue, tokens: readonly string[], at: string): JsonValue {
  let cur = doc;
  for (const t of tokens) {
    if (Array.isArray(cur) && /^(0|[1-9][0-9]*)$/.test(t) && Number(t) < cur.length)
      cur = cur[Number(t)] as JsonValue;
    else if (isPlainObject(cur) && Object.hasOwn(cur, t)) cur = cur[t] as JsonValue;
    else throw patchError(`${at}: path does not exist`);
  }
  return cur;
}

function parentOf(doc: JsonValue, tokens: readonly string[], at: string): [Container, string] {
  const parent = walk(doc, tokens.slice(0, -1), at);
  if (!Array.isArray(parent) && !isPlainObject(parent))
    throw patchError(`${at}: parent is not an object or array`);
  return [parent, tokens[tokens.length - 1] ?? ''];
}

function arrayIndex(arr: JsonValue[], key: string, at: string, isAdd: boolean): number {
  if (isAdd && key === '-') return arr.length;
  const max = isAdd ? arr.length : arr.length - 1;
  if (!/^(0|[1-9][0-9]*)$/.test(key) || Number(key) > max)
    throw patchError(`${at}: bad array index ${JSON.stringify(key)}`);
  return Number(key);
}

function add(doc: JsonValue, tokens: string[], value: JsonValue, at: string): JsonValue {
  if (tokens.length === 0) return value;
  const [parent, key] = parentOf(doc, tokens, at);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, at, true), 0, value);
  else parent[key] = value;
  return doc;
}

function remove(doc: JsonValue, tokens: string[], at: string): JsonValue {
  if (tokens.length === 0) throw patchError(`${at}: cannot remove the whole document`);
  const [parent, key] = parentOf(doc, tokens, at);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, at, false), 1);
  else if (Object.hasOwn(parent, key)) Reflect.deleteProperty(parent, key);
  else throw patchError(`${at}: path does not exist`);
  return doc;
}

function applyOne(doc: JsonValue, raw: JsonValue, at: string): JsonValue {
  if (!isPlainObject(raw)) throw patchError(`${at}: expected an operation object`);
  const op = raw['op'];
  const path = parsePointer(raw['path'], `${at}.path`);
  const value = structuredClone<JsonValue>(raw['value'] ?? null);
  const from = (): string[] => parsePointer(raw['from'], `${at}.from`);
  switch (typeof op === 'string' ? op : '') {
    case 'add':
      return add(doc, path, value, at);
    case 'remove':
      return remove(doc, path, at);
    case 'replace':
      walk(doc, path, at);
      return add(remove(doc, path, at), path, value, at);
    case 'move': {
      const v = walk(doc, from(), at);
      return add(remove(doc, from(), at), path, v, at);
    }
    case 'copy':
      return add(doc, path, structuredClone(walk(doc, from(), at)), at);
    case 'test':
      if (JSON.stringify(walk(doc, path, at)) !== JSON.stringify(value))
        throw patchError(`${at}: test failed`);
      return doc;
    default:
      throw patchError(`${at}.op: unknown operation ${JSON.stringify(op)}`);
  }
}

/** RFC 6902 on a copy of `doc`; all-or-nothing (a failing operation leaves `doc` untouched). */
export function applyJsonPatch(doc: JsonValue, ops: readonly JsonValue[]): JsonValue {
  let out = structuredClone(doc);
  ops.forEach((op, i) => {
    out = applyOne(out, op, `ops[${String(i)}]`);
  });
  return out;
}
