import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { TtrpcClient, createTypedClient } from '#src/protocol/ttrpc/index.js';
import { connectUnix } from '#src/protocol/transport/index.js';
import { AGENT_SERVICE_DEF, HEALTH_SERVICE_DEF } from '#guest/agent/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const BUNDLE = join(PROJECT_ROOT, 'dist', 'guest', 'kata-agent.mjs');
const skip = existsSync(BUNDLE) ? undefined : `${BUNDLE} is missing (npm run build)`;
if (skip) console.log(`skipping agent bundle test: ${skip}`);

describe.skipIf(skip !== undefined)('the bundled agent (dist/guest/kata-agent.mjs)', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  test('prints one readiness line, serves Health and stops after DestroySandbox', async () => {
    const t = tmpdir('kata-cc-agent-bundle-');
    cleanups.push(() => {
      t.remove();
    });
    const sock = join(t.path, 'agent.sock');
    const child = spawn(
      process.execPath,
      [BUNDLE, `--cmdline=quiet agent.channel=unix:${sock} agent.log=debug`],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    cleanups.push(() => child.kill('SIGKILL'));
    let stderr = '';
    const ready = new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (stderr.includes('"msg":"agent ready"')) resolve();
      });
      child.once('exit', (code) => {
        reject(new Error(`agent exited with ${String(code)}: ${stderr}`));
      });
    });
    await ready;
    const readyLines = stderr.split('\n').filter((l) => l.includes('agent ready'));
    expect(readyLines).toHaveLength(1);
    expect(JSON.parse(readyLines[0] ?? '{}')).toMatchObject({
      level: 'info',
      channel: 'unix',
      version: '0.1.0',
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const client = new TtrpcClient(await connectUnix(sock));
    try {
      const health = createTypedClient(client, HEALTH_SERVICE_DEF);
      expect((await health.Check({ service: '' })).status).toBe(1);
      const agent = createTypedClient(client, AGENT_SERVICE_DEF);
      const details = await agent.GetGuestDetails({
        mem_block_size: true,
        mem_hotplug_probe: false,
      });
      expect(details.agent_details?.storage_handlers).toContain('blk');
      await agent.DestroySandbox({});
    } finally {
      await client.close();
    }
    expect(await exited).toBe(0);
  });
});
