import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dispatch, NULL_LOGGER, type CommandContext } from '#src/lib/index.js';
import { ROOT_COMMAND } from '#src/host/cli/commands/index.js';
import {
  allowedCreateContainerRequest,
  genpolicyText,
  hasAgentPolicyData,
  POD_FILE,
} from '#test/unit/src/rego/genpolicy-request.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const hasData = hasAgentPolicyData();
if (!hasData) console.log(`skipping the genpolicy replay: ${POD_FILE} is missing`);

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const ctx: CommandContext = {
    stdout,
    stderr,
    stdin: new PassThrough(),
    env: { KATA_CC_CONFIG: undefined },
    signal: new AbortController().signal,
    log: NULL_LOGGER,
    projectRoot: process.cwd(),
  };
  const code = await dispatch(ROOT_COMMAND, ['policy', 'replay', ...args], ctx);
  return { code, out, err };
}

const lines = (out: string): Record<string, unknown>[] =>
  out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('kata-cc policy replay', () => {
  const dir = tmpdir();
  afterAll(() => {
    dir.remove();
  });
  const file = (name: string, text: string): string => {
    const p = join(dir.path, name);
    writeFileSync(p, text);
    return p;
  };

  test('prints one verdict line per request and carries the state', async () => {
    const policy = file(
      'p.rego',
      `package agent_policy
default ExecProcessRequest := false
default StartContainerRequest := false
StartContainerRequest := {"allowed": true, "ops": [{"op": "add", "path": "/pstate/started", "value": input.container_id}]} if {
  not data.pstate.started
}
ExecProcessRequest if {
  print("started:", data.pstate.started)
  data.pstate.started == input.container_id
}
`,
    );
    const requests = file(
      'r.jsonl',
      [
        '["ExecProcessRequest",{"container_id":"c1"}]',
        '["StartContainerRequest",{"container_id":"c1"}]',
        '',
        '["ExecProcessRequest",{"container_id":"c1"}]',
        '["StartContainerRequest",{"container_id":"c2"}]',
        '["AddSwapRequest",{}]',
      ].join('\n'),
    );
    const r = await run(['--policy', policy, requests]);
    expect(r.code).toBe(0);
    expect(lines(r.out)).toEqual([
      {
        request: 'ExecProcessRequest',
        allowed: false,
        prints: ['started: <undefined>'],
        reason: 'ExecProcessRequest rule is false (last policy output: started: <undefined>)',
      },
      { request: 'StartContainerRequest', allowed: true, prints: [], reason: '' },
      { request: 'ExecProcessRequest', allowed: true, prints: ['started: c1'], reason: '' },
      {
        request: 'StartContainerRequest',
        allowed: false,
        prints: [],
        reason: 'StartContainerRequest rule is false',
      },
      {
        request: 'AddSwapRequest',
        allowed: false,
        prints: [],
        reason: 'the policy has no rule for AddSwapRequest',
      },
    ]);
  });

  test('names the line of a malformed request and exits 1', async () => {
    const policy = file('q.rego', 'package agent_policy\ndefault X := true\n');
    const requests = file('bad.jsonl', '["X",{}]\n{"not":"an array"}\n');
    const r = await run(['--policy', policy, requests]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('bad.jsonl:2: expected ["<RequestName>", {request}]');
  });

  test('requires --policy', async () => {
    expect((await run(['x.jsonl'])).code).toBe(2);
  });

  describe.skipIf(!hasData)('with the genpolicy policy', () => {
    let policy: string;
    beforeAll(() => {
      policy = file('genpolicy.rego', genpolicyText());
    });

    test('replays the pod container, a hostile copy and a SetPolicy', async () => {
      const ok = allowedCreateContainerRequest() as Record<string, any>;
      const bad = allowedCreateContainerRequest() as Record<string, any>;
      bad['OCI'].Process.Args = ['/bin/sh', '-c', 'id'];
      const requests = file(
        'g.jsonl',
        [
          JSON.stringify(['CreateContainerRequest', ok]),
          JSON.stringify(['CreateContainerRequest', bad]),
          JSON.stringify(['SetPolicyRequest', { policy: 'package agent_policy' }]),
        ].join('\n') + '\n',
      );
      const r = await run(['--policy', policy, '--v0', requests]);
      expect(r.code).toBe(0);
      const out = lines(r.out);
      expect(out.map((l) => [l['request'], l['allowed']])).toEqual([
        ['CreateContainerRequest', true],
        ['CreateContainerRequest', false],
        ['SetPolicyRequest', false],
      ]);
      expect((out[0]?.['prints'] as string[]).at(-1)).toBe('CreateContainerRequest: true');
      expect(out[1]?.['reason']).toMatch(
        /^CreateContainerRequest rule is false \(last policy output: /,
      );
      expect(out[2]?.['reason']).toBe('SetPolicyRequest rule is false');
    });
  });
});
