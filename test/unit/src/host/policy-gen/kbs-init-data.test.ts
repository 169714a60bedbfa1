import { describe, expect, test } from 'vitest';
import { kbsInitDataToml } from '#src/host/policy-gen/index.js';
import { parseInitData } from '#src/tee/index.js';

const URL_ = 'http://10.254.1.1:4444';

describe('kbsInitDataToml', () => {
  test('aa.toml and cdh.toml name the KBS; nothing else by default (the attestation e2e pod)', () => {
    // the exact bytes matter: their digest is what the evidence binds
    expect(kbsInitDataToml({ kbsUrl: URL_ })).toBe(
      [
        'version = "0.1.0"',
        'algorithm = "sha384"',
        '[data]',
        `"aa.toml" = '''`,
        '[token_configs.kbs]',
        `url = "${URL_}"`,
        `'''`,
        `"cdh.toml" = '''`,
        'socket = "unix:///run/confidential-containers/cdh.sock"',
        '[kbc]',
        'name = "cc_kbc"',
        `url = "${URL_}"`,
        `'''`,
        '',
      ].join('\n'),
    );
  });

  test('with image settings and an agent policy (the demo pod), still valid initdata', () => {
    const policy = 'package agent_policy\n\ndefault CreateContainerRequest := true\n\n';
    const toml = kbsInitDataToml({
      kbsUrl: URL_,
      insecureRegistries: ['10.254.1.1:5000'],
      agentPolicy: policy,
      algorithm: 'sha512',
    });
    expect(toml).toContain(
      `url = "${URL_}"\n[image]\ninsecure_registries = ["10.254.1.1:5000"]\n'''\n"policy.rego" = '''\n${policy.trimEnd()}\n'''\n`,
    );
    const parsed = parseInitData(toml);
    expect(parsed.algorithm).toBe('sha512');
    expect(Object.keys(parsed.data)).toEqual(['aa.toml', 'cdh.toml', 'policy.rego']);
    expect(parsed.data['aa.toml']).toBe(`[token_configs.kbs]\nurl = "${URL_}"\n`);
    expect(parsed.data['policy.rego']).toBe(`${policy.trimEnd()}\n`);
  });

  test.each([
    ['an agent policy', { kbsUrl: URL_, agentPolicy: "x = '''" }, /policy\.rego/],
    ['a KBS URL', { kbsUrl: "http://x'''/" }, /aa\.toml/],
  ])("refuses %s holding ''' (it would end the TOML literal string)", (_what, o, which) => {
    expect(() => kbsInitDataToml(o)).toThrow(
      expect.objectContaining({
        code: 'ERR_POLICYGEN_INPUT',
        message: expect.stringMatching(which),
      }),
    );
  });

  test('a KBS URL with a quote stays one TOML string', () => {
    const toml = kbsInitDataToml({ kbsUrl: 'http://x/"y' });
    expect(parseInitData(toml).data['aa.toml']).toContain('url = "http://x/\\"y"');
  });
});
