// The agent launcher with the V8 code cache the guest image build makes (guest/launcher,
// guest/build/code-cache.ts), run on the host: the same node binary the guest runs.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TtrpcClient, createTypedClient } from '#src/protocol/ttrpc/index.js';
import { connectUnix } from '#src/protocol/transport/index.js';
import { HEALTH_SERVICE_DEF } from '#guest/agent/index.js';
import { GUEST_AGENT_ENTRY } from '#guest/build/index.js';
import {
  AGENT_BUNDLE,
  AGENT_CODE_CACHE,
  codeCacheFlags,
  writeCodeCache,
} from '#guest/build/code-cache.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const AGENT_DIR = join(PROJECT_ROOT, 'dist', 'guest');
const skip = existsSync(join(AGENT_DIR, AGENT_BUNDLE))
  ? undefined
  : `${join(AGENT_DIR, AGENT_BUNDLE)} is missing (npm run build)`;
if (skip) console.log(`skipping agent code cache test: ${skip}`);

/** Starts the staged agent with `flags`, waits for its ready line, checks Health, stops it. */
async function runAgent(
  optDir: string,
  flags: readonly string[],
): Promise<Record<string, unknown>> {
  const sock = join(optDir, '..', `agent-${Math.random().toString(16).slice(2)}.sock`);
  const child = spawn(
    process.execPath,
    [...flags, join(optDir, 'kata-agent.mjs'), `--cmdline=quiet agent.channel=unix:${sock}`],
    { stdio: ['ignore', 'ignore', 'pipe'], env: {} },
  );
  try {
    let stderr = '';
    const line = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        const hit = stderr.split('\n').find((l) => l.includes('"msg":"agent ready"'));
        if (hit !== undefined) resolve(hit);
      });
      child.once('exit', (code) => {
        reject(new Error(`agent exited with ${String(code)}: ${stderr}`));
      });
    });
    const client = new TtrpcClient(await connectUnix(sock));
    try {
      const health = createTypedClient(client, HEALTH_SERVICE_DEF);
      expect((await health.Check({ service: '' })).status).toBe(1);
    } finally {
      await client.close();
    }
    return JSON.parse(line) as Record<string, unknown>;
  } finally {
    child.kill('SIGKILL');
  }
}

describe.skipIf(skip !== undefined)('the agent code cache', () => {
  const t = tmpdir('kata-cc-code-cache-');
  const stage = join(t.path, 'stage');
  const optDir = join(stage, GUEST_AGENT_ENTRY, '..');
  let flags: string[] = [];
  beforeAll(() => {
    cpSync(AGENT_DIR, optDir, { recursive: true, dereference: true });
    flags = codeCacheFlags(optDir);
  });
  afterAll(() => {
    t.remove();
  });

  test('the flags are one fixed hash seed derived from the bundle', () => {
    expect(flags).toHaveLength(1);
    expect(flags[0]).toMatch(/^--hash-seed=[1-9][0-9]*$/);
    expect(codeCacheFlags(optDir)).toEqual(flags);
    expect(codeCacheFlags(t.path)).toEqual([]);
  });

  test('is reproducible: two builds write the same bytes', async () => {
    const size = await writeCodeCache({ stage, nodeBinary: process.execPath, nodeFlags: flags });
    const first = readFileSync(join(optDir, AGENT_CODE_CACHE));
    expect(first.length).toBe(size);
    await writeCodeCache({ stage, nodeBinary: process.execPath, nodeFlags: flags });
    expect(readFileSync(join(optDir, AGENT_CODE_CACHE)).equals(first)).toBe(true);
  });

  test('is accepted under the same flags and the agent serves', async () => {
    expect(await runAgent(optDir, flags)).toMatchObject({ code_cache: 'accepted' });
  });

  test('under other flags V8 rejects it and the agent still starts', async () => {
    expect(await runAgent(optDir, [])).toMatchObject({ code_cache: 'rejected' });
  });

  test('a corrupted cache is rejected (checksum) and the agent still starts', async () => {
    const path = join(optDir, AGENT_CODE_CACHE);
    const bad = Buffer.from(readFileSync(path));
    for (let i = 0; i < 256; i++) bad[Math.floor(bad.length / 2) + i]! ^= 0xa5;
    writeFileSync(path, bad);
    expect(await runAgent(optDir, flags)).toMatchObject({ code_cache: 'rejected' });
    writeFileSync(path, 'garbage');
    expect(await runAgent(optDir, flags)).toMatchObject({ code_cache: 'rejected' });
  });
});
