import { describe, expect, test } from 'vitest';
import { loadAgentConfig, readAgentCmdline } from '#guest/config/index.js';

const unreadable = (): string => {
  throw Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
};

describe('readAgentCmdline', () => {
  test('reads /proc/cmdline when no --cmdline= argument is given', () => {
    expect(readAgentCmdline(['--other'], () => 'quiet agent.confidential=true\n')).toBe(
      'quiet agent.confidential=true\n',
    );
  });

  test('fails closed when /proc/cmdline cannot be read: no silent defaults', () => {
    let caught: unknown;
    try {
      readAgentCmdline([], unreadable);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({
      kind: 'failed_precondition',
      code: 'ERR_CONFIG_CMDLINE',
      message: expect.stringContaining('--cmdline='),
      cause: expect.objectContaining({ code: 'ENOENT' }),
    });
  });

  test('an explicit --cmdline= replaces /proc/cmdline (host-side harnesses), first one wins', () => {
    const cmdline = readAgentCmdline(
      ['--cmdline=agent.confidential=true agent.log=debug', '--cmdline=agent.log=error'],
      unreadable,
    );
    expect(cmdline).toBe('agent.confidential=true agent.log=debug');
    const { config } = loadAgentConfig(cmdline, () => false);
    expect([config.confidential, config.logLevel]).toEqual([true, 'debug']);
  });

  test('an explicit empty --cmdline= means defaults, on purpose', () => {
    expect(readAgentCmdline(['--cmdline='], unreadable)).toBe('');
  });
});
