/** The verdict of the agent policy on one request. */
export interface PolicyDecision {
  readonly allowed: boolean;
  /** Why it was denied (goes into the PERMISSION_DENIED message); empty when allowed. */
  readonly reason: string;
}

/**
 * The agent policy: every AgentService handler asks `check` before doing anything. `RegoAgentPolicy`
 * backs it with Rego (initdata `policy.rego`, SetPolicy); `requestName` is the Kata request
 * message name (`CreateContainerRequest`) and `request` the decoded wire message.
 */
export interface AgentPolicy {
  check(requestName: string, request: unknown): Promise<PolicyDecision>;
  /**
   * SetPolicy (policies that support replacement): checks `SetPolicyRequest` with the current
   * policy, then installs `request.policy`. A denied or invalid policy leaves the old one in place.
   */
  setPolicy?(request: { readonly policy: string }): Promise<PolicyDecision>;
}

const ALLOW: PolicyDecision = Object.freeze({ allowed: true, reason: '' });

/** Allows every request (the built-in default until a policy is loaded; not for confidential use). */
export class AllowAllPolicy implements AgentPolicy {
  check(_requestName: string, _request: unknown): Promise<PolicyDecision> {
    return Promise.resolve(ALLOW);
  }
}

/** Denies the request names given (tests, and a minimal lock-down without Rego). */
export class DenyListPolicy implements AgentPolicy {
  readonly #denied: ReadonlySet<string>;
  constructor(denied: Iterable<string>) {
    this.#denied = new Set(denied);
  }
  check(requestName: string, _request: unknown): Promise<PolicyDecision> {
    return Promise.resolve(
      this.#denied.has(requestName)
        ? { allowed: false, reason: `${requestName} is on the deny list` }
        : ALLOW,
    );
  }
}
