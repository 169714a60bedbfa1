import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, test } from 'vitest';
import { dispatch, NULL_LOGGER, type CommandContext } from '#src/lib/index.js';
import { ROOT_COMMAND } from '#src/host/cli/commands/index.js';
import {
  factsOfConfig,
  generatePolicies,
  LEGACY_POLICY_ANNOTATION,
  loadSettings,
  PolicyGenError,
  StaticImageSource,
  type GenerateOptions,
} from '#src/host/policy-gen/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const DIR = join(PROJECT_ROOT, 'policies', 'agent');
const IMAGE = 'registry.example/app:1';

function options(over: Partial<GenerateOptions> = {}): GenerateOptions {
  const images = new StaticImageSource();
  images.set(
    IMAGE,
    factsOfConfig({ config: { Entrypoint: ['/app'], Cmd: ['run'], User: '10:20' } }),
  );
  images.set('registry.example/named:1', factsOfConfig({ config: { Cmd: ['/x'], User: 'nginx' } }));
  return {
    rules: readFileSync(join(DIR, 'rules.rego'), 'utf8'),
    settings: loadSettings(join(DIR, 'settings.json')),
    images,
    ...over,
  };
}

function workload(kind: string, spec: string): string {
  const pod = `containers: [{name: c, image: "${IMAGE}"}]`;
  const template = `template: {metadata: {labels: {a: b}}, spec: {${pod}}}`;
  if (kind === 'Pod') return `kind: Pod\nmetadata: {name: p}\nspec: {${pod}}\n`;
  if (kind === 'CronJob')
    return `kind: CronJob\nmetadata: {name: cj}\nspec: {schedule: "* * * * *", jobTemplate: {spec: {${template}}}}\n`;
  return `kind: ${kind}\nmetadata: {name: ${spec}}\nspec: {${template}}\n`;
}

type Json = Record<string, any>;

async function errorOf(p: Promise<unknown>): Promise<PolicyGenError> {
  const e: unknown = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof PolicyGenError))
    throw new Error(`expected a PolicyGenError, got ${String(e)}`);
  return e;
}

describe('generatePolicies', () => {
  test.each([
    ['Pod', 'p', '^p$', ['metadata']],
    ['Deployment', 'd', '^d-[a-z0-9]{1,10}-[a-z0-9]{5}$', ['spec', 'template', 'metadata']],
    ['ReplicaSet', 'rs', '^rs-[a-z0-9]{5}$', ['spec', 'template', 'metadata']],
    ['StatefulSet', 'ss', '^ss-[0-9]+$', ['spec', 'template', 'metadata']],
    ['DaemonSet', 'ds', '^ds-[a-z0-9]{5}$', ['spec', 'template', 'metadata']],
    ['Job', 'j', '^j-[a-z0-9]{5}$', ['spec', 'template', 'metadata']],
    [
      'CronJob',
      'cj',
      '^cj-[0-9]{1,12}-[a-z0-9]{5}$',
      ['spec', 'jobTemplate', 'spec', 'template', 'metadata'],
    ],
  ])('%s: pod name pattern and the annotated template', async (kind, name, regex, path) => {
    const r = await generatePolicies(workload(kind, name), 'w.yaml', options());
    const data = r.policies[0]!.policyData as Json;
    expect(data['containers']).toHaveLength(2);
    const c = data['containers'][1]['OCI'];
    expect(c['Annotations']['io.kubernetes.cri.sandbox-name']).toBe(regex);
    expect(c['Process']).toMatchObject({ Args: ['/app', 'run'], User: { UID: 10, GID: 20 } });
    let node: any = parseAllDocuments(r.yaml)[0]!.toJS();
    for (const k of path) node = node[k];
    expect(Object.keys(node['annotations'] as object)).toEqual([
      'io.katacontainers.config.hypervisor.cc_init_data',
    ]);
  });

  test('the legacy annotation carries the base64 policy', async () => {
    const r = await generatePolicies(
      workload('Pod', 'p'),
      'w.yaml',
      options({ legacyAnnotation: true }),
    );
    const a = (parseAllDocuments(r.yaml)[0]!.toJS() as Json)['metadata']['annotations'];
    expect(Buffer.from(a[LEGACY_POLICY_ANNOTATION] as string, 'base64').toString()).toBe(
      r.policies[0]!.policy,
    );
  });

  test('securityContext, probes, options: privileged caps, exec commands, logs and stdin', async () => {
    const yaml = `kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: c
      image: ${IMAGE}
      args: [serve, "$(PORT)", "$$(PORT)"]
      env: [{name: PORT, value: "80"}]
      securityContext: {privileged: true, runAsUser: 0}
      startupProbe: {exec: {command: [/bin/true]}}
      lifecycle: {preStop: {exec: {command: [/bin/stop, now]}}}
`;
    const r = await generatePolicies(
      yaml,
      'w.yaml',
      options({ allowLogs: true, allowStdin: true, execCommands: [['/bin/date']] }),
    );
    const data = r.policies[0]!.policyData as Json;
    const c = data['containers'][1];
    expect(c['OCI']['Process']).toMatchObject({
      Args: ['/app', 'serve', '80', '^\\$\\(PORT\\)$'],
      User: { UID: 0, GID: 20 },
      Capabilities: { Bounding: ['$(privileged_caps)'] },
    });
    expect(c['OCI']['Linux']['MaskedPaths']).toEqual([]);
    expect(c['exec_commands']).toEqual([['/bin/true'], ['/bin/stop', 'now']]);
    expect(data['request_defaults']).toMatchObject({
      ReadStreamRequest: true,
      WriteStreamRequest: true,
      CloseStdinRequest: true,
      ExecProcessRequest: { allowed_commands: [['/bin/date']] },
    });
  });

  test.each([
    [
      'a missing ConfigMap key',
      `kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: "${IMAGE}", env: [{name: X, valueFrom: {configMapKeyRef: {name: cm, key: k}}}]}]}`,
      /^w\.yaml#1 Pod\/p spec\.containers\[0\]\.env\[0\]\.valueFrom: ConfigMap "cm" key "k" is not in this file/,
    ],
    [
      'an image user given by name',
      `kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: registry.example/named:1}]}`,
      /the image runs as user "nginx", which its \/etc\/passwd does not list: set securityContext\.runAsUser/,
    ],
    ['no workload', 'kind: ConfigMap\nmetadata: {name: x}\n', /^w\.yaml: no Pod, Deployment/],
    [
      'an unsupported fieldRef',
      `kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: "${IMAGE}", env: [{name: X, valueFrom: {fieldRef: {fieldPath: spec.bogus}}}]}]}`,
      /fieldRef\.fieldPath "spec\.bogus" is not supported/,
    ],
  ])('%s is a clear error', async (_, yaml, message) => {
    const e = await errorOf(generatePolicies(yaml, 'w.yaml', options()));
    expect(e.code).toBe('ERR_POLICYGEN_INPUT');
    expect(e.message).toMatch(message);
  });

  test('an optional missing ConfigMap key leaves the variable out', async () => {
    const yaml = `kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: "${IMAGE}", env: [{name: X, valueFrom: {configMapKeyRef: {name: cm, key: k, optional: true}}}]}]}`;
    const r = await generatePolicies(yaml, 'w.yaml', options());
    expect((r.policies[0]!.policyData as Json)['containers'][1]['OCI']['Process']['Env']).toEqual(
      [],
    );
  });
});

describe('kata-cc policy generate / explain / replay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'policy-cli-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function context(): { ctx: CommandContext; out: () => string; err: () => string } {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let o = '';
    let e = '';
    stdout.on('data', (c: Buffer) => (o += c.toString()));
    stderr.on('data', (c: Buffer) => (e += c.toString()));
    const ctx: CommandContext = {
      stdout,
      stderr,
      stdin: new PassThrough(),
      env: { KATA_CC_CONFIG: undefined },
      signal: new AbortController().signal,
      log: NULL_LOGGER,
      projectRoot: PROJECT_ROOT,
    };
    return { ctx, out: () => o, err: () => e };
  }

  test('generates offline from --image-config, then explains a denial field by field', async () => {
    writeFileSync(join(dir, 'pod.yaml'), workload('Pod', 'p'));
    writeFileSync(
      join(dir, 'img.json'),
      JSON.stringify({ config: { Entrypoint: ['/app'], User: '10:20' } }),
    );
    const g = context();
    const argv = [
      'policy',
      'generate',
      '-y',
      join(dir, 'pod.yaml'),
      '--policy-out',
      join(dir, 'p.rego'),
    ];
    argv.push('--image-config', `${IMAGE}=${join(dir, 'img.json')}`);
    expect(await dispatch(ROOT_COMMAND, argv, g.ctx)).toBe(0);
    expect(g.err()).toMatch(
      /w?pod\.yaml#1 Pod\/p: 2 containers \(with pause\), io\.katacontainers\.config\.hypervisor\.cc_init_data/,
    );
    expect(readFileSync(join(dir, 'pod.yaml'), 'utf8')).toMatch(/cc_init_data: H4sI/);
    const lines = [
      ['CreateSandboxRequest', { sandbox_pidns: true }],
      ['CopyFileRequest', { path: '/etc/passwd', file_mode: 0o100644 }],
    ].map((l) => JSON.stringify(l));
    writeFileSync(join(dir, 'log.jsonl'), `${lines.join('\n')}\n`);
    const e = context();
    const ex = [
      'policy',
      'explain',
      '--policy',
      join(dir, 'p.rego'),
      '--replay',
      join(dir, 'log.jsonl'),
      '--line',
      '2',
    ];
    expect(await dispatch(ROOT_COMMAND, ex, e.ctx)).toBe(0);
    expect(e.out()).toBe(
      [
        'CopyFileRequest: DENIED',
        'rule: data.agent_policy.CopyFileRequest = false',
        'violations (data.agent_policy.violations.CopyFileRequest):',
        '  - path: "/etc/passwd" is not under an allowed prefix ["$(sfprefix)"]',
        '',
      ].join('\n'),
    );
    const r = context();
    expect(
      await dispatch(
        ROOT_COMMAND,
        ['policy', 'replay', '--policy', join(dir, 'p.rego'), join(dir, 'log.jsonl')],
        r.ctx,
      ),
    ).toBe(0);
    expect(r.out().split('\n')[0]).toBe(
      JSON.stringify({
        request: 'CreateSandboxRequest',
        allowed: false,
        prints: [],
        reason: 'sandbox_pidns: expected false, got true',
      }),
    );
  });

  test('explain on a policy without violations rules names the failing body expression', async () => {
    writeFileSync(
      join(dir, 'plain.rego'),
      'package agent_policy\n\nExecProcessRequest if {\n  input.process.Args[0] == "/bin/true"\n  input.container_id == "c1"\n}\n',
    );
    writeFileSync(
      join(dir, 'req.json'),
      JSON.stringify({
        kind: 'ExecProcessRequest',
        request: { container_id: 'c2', process: { Args: ['/bin/true'] } },
      }),
    );
    const c = context();
    expect(
      await dispatch(
        ROOT_COMMAND,
        ['policy', 'explain', '--policy', join(dir, 'plain.rego'), join(dir, 'req.json')],
        c.ctx,
      ),
    ).toBe(0);
    expect(c.out()).toContain(
      `clause ${join(dir, 'plain.rego')}:3: 1 of 2 expressions hold; fails at ${join(dir, 'plain.rego')}:5: input.container_id == "c1"`,
    );
  });
});
