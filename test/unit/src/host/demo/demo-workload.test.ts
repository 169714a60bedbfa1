import { describe, expect, test } from 'vitest';
import {
  DEMO_SECRET_PATH,
  demoInitData,
  demoPodScript,
  initDataAnnotationValue,
} from '#src/host/demo/demo-workload.js';
import { decodeInitDataAnnotation, parseInitData } from '#src/tee/index.js';

describe('demo workload', () => {
  const policy = 'package agent_policy\n\ndefault CreateContainerRequest := true\n';

  test('initdata names the KBS for the AA and the CDH and carries the agent policy', () => {
    const toml = demoInitData('http://10.254.1.1:4444', policy, ['10.254.1.1:5000']);
    const decoded = new TextDecoder().decode(
      decodeInitDataAnnotation(initDataAnnotationValue(toml)),
    );
    expect(decoded).toBe(toml);
    const parsed = parseInitData(toml);
    expect(parsed.algorithm).toBe('sha384');
    expect(parsed.data['aa.toml']).toContain('url = "http://10.254.1.1:4444"');
    expect(parsed.data['cdh.toml']).toContain('name = "cc_kbc"');
    expect(parsed.data['cdh.toml']).toContain('url = "http://10.254.1.1:4444"');
    expect(parsed.data['cdh.toml']).toContain('[image]\ninsecure_registries = ["10.254.1.1:5000"]');
    expect(parsed.data['policy.rego']?.trim()).toBe(policy.trim());
  });

  test("refuses a policy that would end the TOML literal string (''')", () => {
    expect(() => demoInitData('http://x:1', "x = '''")).toThrow(/TOML literal/);
  });

  test('the pod script shows its rootfs and fetches the secret through the guest REST API', () => {
    expect(demoPodScript()).toContain('/proc/self/mountinfo');
    expect(demoPodScript()).toContain(
      `wget -q -O- http://127.0.0.1:8006/cdh/resource/${DEMO_SECRET_PATH}`,
    );
  });
});
