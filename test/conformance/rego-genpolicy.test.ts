import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse as parseToml } from 'smol-toml';
import { beforeAll, describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { compileModules, type CompiledPolicy } from '#src/rego/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const DIR = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'agent-policy');
const POD = join(DIR, 'pod-one-container.yaml');
const hasData = existsSync(POD);
if (!hasData) console.log(`skipping genpolicy checks: ${POD} is missing`);

interface PolicyCase {
  readonly description: string;
  readonly allowed: boolean;
  readonly kind: string;
  readonly request: Record<string, unknown>;
}

function policyText(): string {
  const pod = parseYaml(readFileSync(POD, 'utf8')) as {
    metadata: { annotations: Record<string, string> };
  };
  const b64 = pod.metadata.annotations['io.katacontainers.config.hypervisor.cc_init_data'] ?? '';
  const toml = gunzipSync(Buffer.from(b64, 'base64')).toString('utf8');
  const doc = parseToml(toml) as { data: Record<string, string> };
  return doc.data['policy.rego'] ?? '';
}

function cases(name: string): PolicyCase[] {
  return JSON.parse(
    readFileSync(join(DIR, 'genpolicy-tests', name, 'testcases.json'), 'utf8'),
  ) as PolicyCase[];
}

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
});
