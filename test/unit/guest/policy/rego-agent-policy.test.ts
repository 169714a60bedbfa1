import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { MemorySink, JsonLogger, NULL_LOGGER } from '#src/lib/index.js';
import { compileModules } from '#src/rego/index.js';
import { compileAgentPolicy, RegoAgentPolicy } from '#guest/policy/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const POLICY_DIR = join(PROJECT_ROOT, 'policies', 'agent');
const read = (name: string): string => readFileSync(join(POLICY_DIR, name), 'utf8');
const make = (text: string, recordRequest?: (line: string) => void): RegoAgentPolicy =>
  new RegoAgentPolicy(compileAgentPolicy(text, 'test.rego'), {
    logger: NULL_LOGGER,
    source: 'test',
    recordRequest,
  });

const NO_SET_POLICY = `package agent_policy
default SetPolicyRequest := false
default CreateContainerRequest := true
`;

describe('RegoAgentPolicy', () => {
  test('allow-all.rego allows every agent request', async () => {
    const p = make(read('allow-all.rego'));
    for (const name of [
      'CreateContainerRequest',
      'ExecProcessRequest',
      'SetPolicyRequest',
      'CheckRequest',
    ])
      expect((await p.check(name, {})).allowed, name).toBe(true);
  });

  test('the built-in policies parse as Rego v1 too', () => {
    for (const f of ['allow-all.rego', 'allow-all-except-exec-process.rego'])
      expect(compileModules([{ path: f, text: read(f) }]).modules[0]?.pkg).toEqual([
        'agent_policy',
      ]);
  });

  test('reads a Rego v1 policy as v1 (p if { … } without imports is not v0 nonsense)', async () => {
    const p = make(
      'package agent_policy\ndefault ExecProcessRequest := false\nExecProcessRequest if input.ok == true\n',
    );
    expect((await p.check('ExecProcessRequest', { ok: false })).allowed).toBe(false);
    expect((await p.check('ExecProcessRequest', { ok: true })).allowed).toBe(true);
  });

  test('allow-all-except-exec-process.rego denies only ExecProcessRequest', async () => {
    const p = make(read('allow-all-except-exec-process.rego'));
    expect((await p.check('CreateContainerRequest', {})).allowed).toBe(true);
    const d = await p.check('ExecProcessRequest', { container_id: 'c', exec_id: 'e' });
    expect(d.allowed).toBe(false);
    expect(d.reason).toBe('ExecProcessRequest rule is false');
  });

  test('denies request names the policy has no rule for, except the health check', async () => {
    const p = make(NO_SET_POLICY);
    expect(await p.check('ExecProcessRequest', {})).toMatchObject({
      allowed: false,
      reason: 'the policy has no rule for ExecProcessRequest',
    });
    expect((await p.check('CheckRequest', {})).allowed).toBe(true);
  });

  test('quotes the last print lines of a failed rule in the reason', async () => {
    const p = make(`package agent_policy
import future.keywords.if
default ExecProcessRequest := false
ExecProcessRequest if {
  print("ExecProcessRequest: args =", input.process.Args)
  input.process.Args == ["ls"]
}`);
    const d = await p.check('ExecProcessRequest', { process: { Args: ['sh'] } });
    expect(d.allowed).toBe(false);
    expect(d.reason).toContain('ExecProcessRequest: args = ["sh"]');
    expect(d.prints).toEqual(['ExecProcessRequest: args = ["sh"]']);
  });

  test('logs but allows requests failing the policy when AllowRequestsFailingPolicy is true', async () => {
    const sink = new MemorySink();
    const p = new RegoAgentPolicy(
      compileAgentPolicy(
        'package agent_policy\ndefault AllowRequestsFailingPolicy := true\ndefault ExecProcessRequest := false',
        't.rego',
      ),
      { logger: new JsonLogger({ sink, level: 'debug' }), source: 't' },
    );
    const d = await p.check('ExecProcessRequest', {});
    expect(d).toMatchObject({ allowed: true, isPermissiveAllow: true });
    expect(sink.lines.join('\n')).toContain('AllowRequestsFailingPolicy');
  });

  test('records every request as a replay line when the debug switch is on', async () => {
    const lines: string[] = [];
    const p = make(read('allow-all.rego'), (l) => lines.push(l));
    await p.check('StartContainerRequest', { container_id: 'c1' });
    await p.check('ExecProcessRequest', { container_id: 'c1', exec_id: 'e' });
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      ['StartContainerRequest', { container_id: 'c1' }],
      ['ExecProcessRequest', { container_id: 'c1', exec_id: 'e' }],
    ]);
  });

  test('SetPolicy replaces the policy only when the current policy allows SetPolicyRequest', async () => {
    const locked = make(NO_SET_POLICY);
    const denied = await locked.setPolicy({ policy: read('allow-all.rego') });
    expect(denied.allowed).toBe(false);
    expect((await locked.check('ExecProcessRequest', {})).allowed).toBe(false);

    const open = make(read('allow-all.rego'));
    expect(
      (await open.setPolicy({ policy: read('allow-all-except-exec-process.rego') })).allowed,
    ).toBe(true);
    expect(open.source).toBe('SetPolicy');
    expect((await open.check('ExecProcessRequest', {})).allowed).toBe(false);
  });

  test('SetPolicy with a policy that does not compile is denied and keeps the old policy', async () => {
    const p = make(read('allow-all.rego'));
    const d = await p.setPolicy({ policy: 'package agent_policy\nx := {' });
    expect(d.allowed).toBe(false);
    expect(d.reason).toMatch(/does not compile/);
    expect((await p.check('ExecProcessRequest', {})).allowed).toBe(true);
  });

  test('a rule answering a non-verdict value denies with an evaluation error', async () => {
    const p = make('package agent_policy\nExecProcessRequest := "yes"');
    const d = await p.check('ExecProcessRequest', {});
    expect(d.allowed).toBe(false);
    expect(d.reason).toMatch(/policy evaluation failed: .*expected a boolean/);
  });
});
