import { describe, expect, test } from 'vitest';
import {
  AGENT_DEFAULTS,
  loadAgentConfig,
  parseChannel,
  parseCmdline,
} from '#guest/config/index.js';

const noTee = (): boolean => false;

describe('loadAgentConfig', () => {
  test('applies the defaults to an empty command line', () => {
    const { config, ignoredKeys } = loadAgentConfig('', noTee);
    expect(config.logLevel).toBe('info');
    expect(config.channel).toEqual({
      kind: 'virtio-serial',
      name: 'agent.channel.0',
      path: '/dev/virtio-ports/agent.channel.0',
    });
    expect(config.confidential).toBe(false);
    expect(config.crunBinary).toBe(AGENT_DEFAULTS.crunBinary);
    expect(ignoredKeys).toEqual([]);
    expect(Object.isFrozen(config)).toBe(true);
  });

  test('reads agent keys among the other kernel parameters', () => {
    const { config, ignoredKeys } = loadAgentConfig(
      'console=ttyS0 quiet agent.log=debug agent.channel=vsock:1024 agent.debug_console panic=-1\n',
      noTee,
    );
    expect(config.logLevel).toBe('debug');
    expect(config.channel).toEqual({ kind: 'vsock', port: 1024 });
    expect(ignoredKeys).toEqual(['agent.debug_console']);
  });

  test('is confidential when a TEE device exists, whatever the command line says', () => {
    const tdx = (p: string): boolean => p === '/dev/tdx_guest';
    expect(loadAgentConfig('agent.confidential=false', tdx).config.confidential).toBe(true);
    expect(loadAgentConfig('agent.confidential=true', noTee).config.confidential).toBe(true);
    expect(loadAgentConfig('agent.confidential', noTee).config.confidential).toBe(true);
  });

  test.each([
    ['agent.log=loud', /agent\.log/],
    ['agent.channel=tcp:1', /agent\.channel/],
    ['agent.channel=vsock:0', /agent\.channel/],
    ['agent.channel=unix:relative', /agent\.channel/],
    ['agent.channel=virtio-serial:../x', /agent\.channel/],
    ['agent.confidential=maybe', /agent\.confidential/],
    ['agent.start_timeout_ms=5', /agent\.start_timeout_ms/],
  ])('rejects %s naming the key', (cmdline, key) => {
    expect(() => loadAgentConfig(cmdline, noTee)).toThrow(key);
  });
});

describe('parseCmdline', () => {
  test('splits words, keeps values with = and honours quotes', () => {
    const kv = parseCmdline('a=1 b c="x y" d=e=f');
    expect([...kv]).toEqual([
      ['a', '1'],
      ['b', ''],
      ['c', 'x y'],
      ['d', 'e=f'],
    ]);
  });
});

describe('parseChannel', () => {
  test('accepts a unix socket path', () => {
    expect(parseChannel('unix:/run/agent.sock')).toEqual({ kind: 'unix', path: '/run/agent.sock' });
  });
});
