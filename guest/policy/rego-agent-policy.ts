import { describeError, isPlainObject, type Logger } from '#src/lib/index.js';
import {
  compileModules,
  PolicySession,
  type CompiledPolicy,
  type SessionDecision,
} from '#src/rego/index.js';
import type { AgentPolicy, PolicyDecision } from './agent-policy.js';
import { denialReason } from './denial-reason.js';
import { AgentPolicyError } from './errors.js';

/** Request names allowed when the policy has no rule for them (genpolicy has none for grpc.Health). */
export const UNPOLICED_WHEN_UNDEFINED: readonly string[] = ['CheckRequest'];

export interface RegoAgentPolicyOptions {
  readonly logger: Logger;
  /** Where the policy came from (logs): a path, `built-in`, `SetPolicy`. */
  readonly source: string;
  /** Debug: called with every request as a replay line `["<RequestName>", {request}]`. */
  readonly recordRequest?: ((line: string) => void) | undefined;
}

/** The verdict plus what the evaluation printed (tests, replay, logs). */
export interface RegoPolicyDecision extends PolicyDecision {
  readonly prints: readonly string[];
  /** The rule said no but AllowRequestsFailingPolicy let the request through. */
  readonly isPermissiveAllow: boolean;
}

/**
 * Compiles an agent policy: as Rego v1 first, then as v0 (genpolicy output, what regorus reads)
 * when v1 rejects it. v1 first because a v1 text read as v0 can silently mean something else
 * (`p if { … }` without the `if` import).
 */
export function compileAgentPolicy(text: string, path: string): CompiledPolicy {
  try {
    return compileModules([{ path, text }]);
  } catch {
    // not v1: try v0 below, and report its error
  }
  try {
    return compileModules([{ path, text }], { v0: true });
  } catch (err) {
    throw new AgentPolicyError(
      'invalid_argument',
      'ERR_AGENT_POLICY_LOAD',
      `agent policy ${path} does not compile: ${describeError(err)}`,
      { cause: err },
    );
  }
}

/**
 * The agent policy backed by Rego: `check` evaluates `data.agent_policy.<RequestName>` with the
 * request as input and the policy state as `data.pstate`; `{allowed, ops}` answers patch the state.
 * Checks run one at a time (the state is a sequence).
 */
export class RegoAgentPolicy implements AgentPolicy {
  readonly #session: PolicySession;
  readonly #log: Logger;
  readonly #record: ((line: string) => void) | undefined;
  #source: string;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(policy: CompiledPolicy, o: RegoAgentPolicyOptions) {
    this.#session = new PolicySession(policy, { allowUndefined: UNPOLICED_WHEN_UNDEFINED });
    this.#log = o.logger;
    this.#record = o.recordRequest;
    this.#source = o.source;
  }

  /** Where the current policy came from. */
  get source(): string {
    return this.#source;
  }

  check(requestName: string, request: unknown): Promise<RegoPolicyDecision> {
    return this.#serial(() => this.#check(requestName, request));
  }

  /**
   * SetPolicy: the current policy must allow `SetPolicyRequest` (`{ policy: text }`); then the new
   * text is compiled and replaces the policy (the state is kept). A text that does not compile is
   * denied and the old policy stays.
   */
  setPolicy(request: { readonly policy: string }): Promise<RegoPolicyDecision> {
    return this.#serial(() => {
      const d = this.#check('SetPolicyRequest', request);
      if (!d.allowed) return d;
      let next: CompiledPolicy;
      try {
        next = compileAgentPolicy(request.policy, 'SetPolicy');
      } catch (err) {
        return { ...d, allowed: false, reason: describeError(err) };
      }
      this.#session.replacePolicy(next);
      this.#source = 'SetPolicy';
      this.#log.info('agent policy replaced', { source: 'SetPolicy' });
      return d;
    });
  }

  #serial<T>(fn: () => T): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #check(requestName: string, request: unknown): RegoPolicyDecision {
    if (this.#record) this.#record(JSON.stringify([requestName, request]));
    let d: SessionDecision;
    try {
      d = this.#session.decide(requestName, request);
    } catch (err) {
      this.#log.warn('agent policy evaluation failed', { request: requestName, error: err });
      return {
        allowed: false,
        reason: `policy evaluation failed: ${describeError(err)}`,
        prints: [],
        isPermissiveAllow: false,
      };
    }
    if (d.policyAllowed)
      return { allowed: true, reason: '', prints: d.prints, isPermissiveAllow: false };
    const reason = this.#reason(d, request);
    if (d.allowed) {
      this.#log.warn('request fails the agent policy but AllowRequestsFailingPolicy is set', {
        request: requestName,
        reason,
      });
      return { allowed: true, reason, prints: d.prints, isPermissiveAllow: true };
    }
    this.#log.info('request denied by the agent policy', {
      request: requestName,
      reason,
      source: this.#source,
    });
    return { allowed: false, reason, prints: d.prints, isPermissiveAllow: false };
  }

  #reason(d: SessionDecision, request: unknown): string {
    let policyData;
    try {
      policyData = this.#session.evaluateRule('policy_data', {});
    } catch {
      policyData = undefined;
    }
    return denialReason({
      request: d.request,
      input: request,
      prints: d.prints,
      isUndefined: d.isUndefined,
      policyData: isPlainObject(policyData) ? policyData : undefined,
      violations: d.violations,
    });
  }
}
