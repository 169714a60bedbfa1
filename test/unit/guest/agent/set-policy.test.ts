/** The SetPolicy RPC: replaces the agent policy only when the current policy allows it. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CcError, NULL_LOGGER } from '#src/lib/index.js';
import type { CallContext } from '#src/protocol/ttrpc/index.js';
import { policyText } from '#src/host/policy-gen/index.js';
import { createAgentService } from '#guest/agent/agent-service.js';
import { compileAgentPolicy, RegoAgentPolicy, type AgentPolicy } from '#guest/policy/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { makeFixture } from '#test/unit/guest/sandbox/sandbox-fixture.js';

const fixture = makeFixture();
afterAll(() => fixture.cleanup());

const RULES = readFileSync(join(PROJECT_ROOT, 'policies', 'agent', 'rules.rego'), 'utf8');
const NEXT = `package agent_policy\n\ndefault ExecProcessRequest := true\n`;

function ourPolicy(allowedSha256: string[]): RegoAgentPolicy {
  const text = policyText(RULES, {
    containers: [],
    common: {},
    sandbox: {},
    request_defaults: { SetPolicyRequest: { allowed_sha256: allowedSha256 } },
  });
  return new RegoAgentPolicy(compileAgentPolicy(text, 'policy.rego'), {
    logger: NULL_LOGGER,
    source: 'initdata',
  });
}

function service(policy: AgentPolicy): {
  SetPolicy(req: { policy: string }, c: CallContext): Promise<unknown>;
} {
  // SetPolicy never touches the sandbox
  const svc = createAgentService({
    sandbox: fixture.sandbox,
    policy,
    log: NULL_LOGGER,
    agentVersion: 'test',
    sysfs: '/sys',
  });
  const handler = svc.SetPolicy;
  if (handler === undefined) throw new Error('the agent service has no SetPolicy handler');
  return { SetPolicy: (req, c) => handler(req, c) };
}

const ctx = {
  signal: new AbortController().signal,
  metadata: new Map(),
  service: 'grpc.AgentService',
  method: 'SetPolicy',
} satisfies CallContext;

async function errorOf(p: Promise<unknown>): Promise<CcError> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof CcError)) throw new Error(`expected a CcError, got ${String(err)}`);
  return err;
}

describe('SetPolicy', () => {
  test('denied by default (kata-cc rules): PERMISSION_DENIED naming the policy hash; old policy stays', async () => {
    const policy = ourPolicy([]);
    const err = await errorOf(service(policy).SetPolicy({ policy: NEXT }, ctx));
    expect(err).toMatchObject({ kind: 'permission_denied', code: 'ERR_AGENT_POLICY' });
    const sha = createHash('sha256').update(NEXT).digest('hex');
    expect(err.message).toBe(
      `SetPolicyRequest is blocked by policy: policy: replacing the policy is not allowed (sha256 ${sha} is not in policy_data.request_defaults.SetPolicyRequest.allowed_sha256)`,
    );
    expect(policy.source).toBe('initdata');
    expect((await policy.check('ExecProcessRequest', {})).allowed).toBe(false);
  });

  test('a pre-approved policy (by SHA-256) replaces the current one', async () => {
    const policy = ourPolicy([createHash('sha256').update(NEXT).digest('hex')]);
    await expect(service(policy).SetPolicy({ policy: NEXT }, ctx)).resolves.toEqual({});
    expect(policy.source).toBe('SetPolicy');
    expect((await policy.check('ExecProcessRequest', {})).allowed).toBe(true);
  });

  test('an allowed text that does not compile is refused and the old policy stays', async () => {
    const bad = 'package agent_policy\n\nthis is not rego';
    const policy = ourPolicy([createHash('sha256').update(bad).digest('hex')]);
    const err = await errorOf(service(policy).SetPolicy({ policy: bad }, ctx));
    expect(err.kind).toBe('permission_denied');
    expect(err.message).toMatch(
      /^SetPolicyRequest is blocked by policy: agent policy SetPolicy does not compile: /,
    );
    expect(policy.source).toBe('initdata');
  });

  test('a policy object without setPolicy answers UNIMPLEMENTED', async () => {
    const fixed: AgentPolicy = { check: () => Promise.resolve({ allowed: true, reason: '' }) };
    const err = await errorOf(service(fixed).SetPolicy({ policy: NEXT }, ctx));
    expect(err.kind).toBe('unimplemented');
  });
});
