import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { NULL_LOGGER } from '#src/lib/index.js';
import { AgentPolicyError, loadAgentPolicy } from '#guest/policy/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const POLICY_DIR = join(PROJECT_ROOT, 'policies', 'agent');

describe('loadAgentPolicy', () => {
  let dir: ReturnType<typeof tmpdir>;
  let defaultPolicyPath: string;
  beforeEach(() => {
    dir = tmpdir();
    defaultPolicyPath = join(dir.path, 'allow-all.rego');
    copyFileSync(join(POLICY_DIR, 'allow-all.rego'), defaultPolicyPath);
  });
  afterEach(() => {
    dir.remove();
  });

  test('uses the built-in default when initdata has no policy.rego', async () => {
    const p = loadAgentPolicy({
      initdataPolicyPath: join(dir.path, 'missing.rego'),
      defaultPolicyPath,
      logger: NULL_LOGGER,
    });
    expect(p.source).toBe(defaultPolicyPath);
    expect((await p.check('ExecProcessRequest', {})).allowed).toBe(true);
  });

  test('prefers the initdata policy over the default', async () => {
    const initdata = join(dir.path, 'policy.rego');
    copyFileSync(join(POLICY_DIR, 'allow-all-except-exec-process.rego'), initdata);
    const p = loadAgentPolicy({
      initdataPolicyPath: initdata,
      defaultPolicyPath,
      logger: NULL_LOGGER,
    });
    expect(p.source).toBe(initdata);
    expect((await p.check('ExecProcessRequest', {})).allowed).toBe(false);
  });

  test('fails closed on an initdata policy that does not compile', () => {
    const initdata = join(dir.path, 'policy.rego');
    writeFileSync(initdata, 'package agent_policy\ndefault X := ');
    expect(() =>
      loadAgentPolicy({ initdataPolicyPath: initdata, defaultPolicyPath, logger: NULL_LOGGER }),
    ).toThrow(AgentPolicyError);
  });

  test('reports a missing default policy', () => {
    expect(() =>
      loadAgentPolicy({ defaultPolicyPath: join(dir.path, 'none.rego'), logger: NULL_LOGGER }),
    ).toThrow(/default agent policy .* is missing/);
  });

  test('appends every request to the request log as replay lines', async () => {
    const log = join(dir.path, 'requests.jsonl');
    const p = loadAgentPolicy({ defaultPolicyPath, logger: NULL_LOGGER, requestLogPath: log });
    await p.check('WaitProcessRequest', { container_id: 'c' });
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(log, 'utf8')).toBe('["WaitProcessRequest",{"container_id":"c"}]\n');
  });
});
