import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { dispatch, NULL_LOGGER, type CommandContext } from '#src/lib/index.js';
import { ROOT_COMMAND } from '#src/host/cli/commands/index.js';

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
    projectRoot: process.cwd(),
  };
  return { ctx, out: () => o, err: () => e };
}

describe('kata-cc command dispatch', () => {
  test('--help lists the subcommands and exits 0', async () => {
    const c = context();
    expect(await dispatch(ROOT_COMMAND, ['--help'], c.ctx)).toBe(0);
    expect(c.out()).toMatch(/Commands:\n {2}env/);
  });

  test('an unknown command is a usage error (exit 2)', async () => {
    const c = context();
    expect(await dispatch(ROOT_COMMAND, ['frobnicate'], c.ctx)).toBe(2);
    expect(c.err()).toContain("unknown command 'frobnicate'");
  });

  test('an unknown flag is a usage error (exit 2)', async () => {
    const c = context();
    expect(await dispatch(ROOT_COMMAND, ['env', '--bogus'], c.ctx)).toBe(2);
    expect(c.err()).toMatch(/kata-cc env: .*bogus/);
  });

  test('a failure is exit 1 with the error code', async () => {
    const c = context();
    expect(await dispatch(ROOT_COMMAND, ['env', '--config', '/nonexistent/x.toml'], c.ctx)).toBe(1);
    expect(c.err()).toMatch(/cannot read config file \/nonexistent\/x\.toml.*\[ERR_CONFIG_READ\]/);
  });

  test('env prints the effective configuration', async () => {
    const c = context();
    expect(await dispatch(ROOT_COMMAND, ['env', '--set', 'hypervisor.cpus=2'], c.ctx)).toBe(0);
    expect(c.out()).toContain('cpus = 2  # flag');
  });
});
