import { describe, expect, test } from 'vitest';
import { AGENT_DEFAULTS, loadAgentConfig, parseRegistryList } from '#guest/config/index.js';

const noTee = (): boolean => false;

describe('agent image pull settings on the kernel command line', () => {
  test('defaults: upstream pull timeout, no insecure registry', () => {
    const { config } = loadAgentConfig('', noTee);
    expect(config.imagePullTimeoutMs).toBe(AGENT_DEFAULTS.imagePullTimeoutS * 1000);
    expect(config.insecureRegistries).toEqual([]);
    expect(config.imageScratchSerial).toBe('kata-scratch');
  });

  test('reads agent.image_pull_timeout in seconds and the insecure registries', () => {
    const { config, ignoredKeys } = loadAgentConfig(
      'quiet agent.image_pull_timeout=5 agent.insecure_registries=10.88.0.1:5000,registry.local',
      noTee,
    );
    expect(config.imagePullTimeoutMs).toBe(5000);
    expect(config.insecureRegistries).toEqual(['10.88.0.1:5000', 'registry.local']);
    expect(ignoredKeys).toEqual([]);
  });

  test.each([
    ['0', /agent.image_pull_timeout: expected integer/],
    ['-3', /agent.image_pull_timeout/],
    ['1.5', /agent.image_pull_timeout/],
    ['86401', /agent.image_pull_timeout/],
    ['1e9', /agent.image_pull_timeout/],
    ['ten', /agent.image_pull_timeout/],
    ['', /agent.image_pull_timeout/],
  ])('refuses the pull timeout %j', (v, msg) => {
    expect(() => loadAgentConfig(`agent.image_pull_timeout=${v}`, noTee)).toThrow(msg);
  });

  test.each([
    'http://evil:5000',
    'host/path',
    'a b',
    '../x',
    'host:5000:6000',
    '-host',
    'x'.repeat(300),
  ])('refuses the insecure registry %j', (h) => {
    expect(() => parseRegistryList(h, 'agent.insecure_registries')).toThrow(
      /agent.insecure_registries: expected host\[:port\]/,
    );
  });

  test('refuses more than 64 insecure registries', () => {
    const many = Array.from({ length: 65 }, (_, i) => `r${String(i)}`).join(',');
    expect(() => parseRegistryList(many, 'agent.insecure_registries')).toThrow(/at most 64/);
  });
});
