import { beforeAll, describe, expect, test } from 'vitest';
import { compileModules, type CompiledPolicy } from '#src/rego/index.js';
import {
  allowedCreateContainerRequest,
  genpolicyCases as cases,
  genpolicyText as policyText,
  hasAgentPolicyData,
  POD_FILE,
} from '#test/unit/src/rego/genpolicy-request.js';

const hasData = hasAgentPolicyData();
if (!hasData) console.log(`skipping genpolicy checks: ${POD_FILE} is missing`);

/** The agent serialises whole protobuf messages: absent fields appear with their defaults. */
const SANDBOX_DEFAULTS = {
  guest_hook_path: '',
  kernel_modules: [],
  storages: [],
  sandbox_pidns: false,
};
const STATE = { pstate: {} };

describe.skipIf(!hasData)('genpolicy agent policy from initdata', () => {
  let policy: CompiledPolicy;
  let text: string;
  beforeAll(() => {
    text = policyText();
    policy = compileModules([{ path: 'policy.rego', text }], { v0: true });
  });

  test('decodes to a ~2,000-line policy that parses', () => {
    expect(text.split('\n').length).toBeGreaterThan(1500);
    expect(policy.modules[0]?.pkg).toEqual(['agent_policy']);
    expect(policy.modules[0]?.rules.length).toBeGreaterThan(100);
  });

  test.each([
    ['DestroySandboxRequest', true],
    ['GuestDetailsRequest', true],
    ['AddSwapRequest', false],
    ['SetPolicyRequest', false],
    ['AllowRequestsFailingPolicy', false],
  ])('answers the default rule of %s (%s) for an empty request', (name, want) => {
    expect(policy.evaluate(`data.agent_policy.${name}`, { input: {}, data: STATE }).value).toBe(
      want,
    );
  });

  test('allows a plain CreateSandboxRequest and rejects pidns, kernel modules and hooks', () => {
    const ask = (req: object): unknown =>
      policy.evaluate('data.agent_policy.CreateSandboxRequest', {
        input: { ...SANDBOX_DEFAULTS, ...req },
        data: STATE,
      }).value;
    expect(ask({})).toBe(true);
    expect(ask({ sandbox_pidns: true })).toBe(false);
    expect(ask({ kernel_modules: ['e1000'] })).toBe(false);
    expect(ask({ guest_hook_path: '/hooks' })).toBe(false);
  });

  test('gives the upstream decision for the path-based CopyFile cases', () => {
    const all = cases('copyfile');
    // this policy predates the file-type and symlink checks of the newer test cases
    const pathCases = all.filter(
      (c) => c.request['file_type'] !== 'Unknown' && c.request['symlink_target'] === undefined,
    );
    expect(pathCases.length).toBeGreaterThan(5);
    for (const c of pathCases) {
      const r = policy.evaluate('data.agent_policy.CopyFileRequest', {
        input: c.request,
        data: STATE,
      });
      expect(r.value, c.description).toBe(c.allowed);
    }
    for (const c of all) {
      const r = policy.evaluate('data.agent_policy.CopyFileRequest', {
        input: c.request,
        data: STATE,
      });
      expect(typeof r.value, c.description).toBe('boolean');
    }
  });

  test('evaluates CreateContainerRequest of another pod to a denial with its print trace', () => {
    const lines: string[] = [];
    for (const c of cases('createcontainer/env_vars')) {
      const r = policy.evaluate('data.agent_policy.CreateContainerRequest', {
        input: c.request,
        data: STATE,
        print: (l) => lines.push(l),
        capturePrints: true,
      });
      // generated for a different pod: the sandbox namespace/containers do not match this policy
      expect(r.value).toBe(false);
      expect(r.prints.length).toBeGreaterThan(0);
    }
    expect(lines.some((l) => l.startsWith('allow_create_container_input: input ='))).toBe(true);
  });

  test("allows the pod's own container and returns the state operations", () => {
    const r = policy.evaluate('data.agent_policy.CreateContainerRequest', {
      input: allowedCreateContainerRequest(),
      data: STATE,
    });
    const v = r.value as { allowed: boolean; ops: { op: string; path: string }[] };
    expect(v.allowed).toBe(true);
    expect(v.ops.map((o) => o.path)).toContain('/pstate/sandbox_name');
  });

  test.each([
    ['a different command', (r: any) => (r.OCI.Process.Args = ['/bin/sh', '-c', 'id'])],
    ['an extra env var', (r: any) => r.OCI.Process.Env.push('LD_PRELOAD=/x.so')],
    [
      'another sandbox name',
      (r: any) => (r.OCI.Annotations['io.kubernetes.cri.sandbox-name'] = 'x'),
    ],
    [
      'a host mount',
      (r: any) =>
        r.OCI.Mounts.push({ destination: '/host', source: '/', type_: 'bind', options: ['rbind'] }),
    ],
  ])('denies the container with %s', (_what, change) => {
    const req = allowedCreateContainerRequest();
    change(req);
    const r = policy.evaluate('data.agent_policy.CreateContainerRequest', {
      input: req,
      data: STATE,
    });
    expect(r.value).toBe(false);
  });
});
