import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildImage, makeKeyPair, pushImage, tempDir } from '#test/helpers/images.js';
import {
  registryUnavailableReason,
  startRegistry,
  type TestRegistry,
} from '#test/helpers/registry.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const BUNDLE = join(PROJECT_ROOT, 'dist', 'kata-cc.mjs');
const skip =
  registryUnavailableReason() ??
  (existsSync(BUNDLE) ? undefined : `${BUNDLE} is not built (npm run build)`);
if (skip) console.log(`skipping kata-cc image pull CLI tests: ${skip}`);

function cli(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BUNDLE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(skip !== undefined)('kata-cc image pull', () => {
  let reg: TestRegistry;
  let work: string;
  let keys: { priv: string; pub: string };
  let other: { priv: string; pub: string };

  beforeAll(async () => {
    reg = await startRegistry();
    work = await tempDir();
    keys = await makeKeyPair(work, 'ec');
    other = await makeKeyPair(work, 'ec', 'other');
    const img = await buildImage({
      layers: [
        [
          { kind: 'busybox', path: 'bin/busybox' },
          { kind: 'file', path: 'etc/motd', content: 'cli\n' },
        ],
      ],
    });
    await pushImage(img, reg.host, 'cli:enc', { encryptionKey: keys.pub });
  }, 600_000);

  afterAll(async () => {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('pulls and decrypts an image, printing JSON progress events when stdout is not a TTY', async () => {
    const dest = join(work, 'ok');
    const r = await cli([
      'image',
      'pull',
      `${reg.host}/cli:enc`,
      dest,
      '--decryption-key',
      keys.priv,
      '--insecure-registry',
      reg.host,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(events[0]?.type).toBe('resolved');
    expect(events.map((e) => e.type)).toContain('layer-done');
    expect(events.at(-1)?.type).toBe('done');
    expect(readFileSync(join(dest, 'etc/motd'), 'utf8')).toBe('cli\n');
  });

  test('exits 1 with the decryption error and leaves nothing when the key is wrong', async () => {
    const dir = await tempDir();
    try {
      const r = await cli([
        'image',
        'pull',
        `${reg.host}/cli:enc`,
        join(dir, 'r'),
        '--decryption-key',
        other.priv,
        '--insecure-registry',
        reg.host,
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/Failed to decrypt the image layer sha256:[0-9a-f]{64}/);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('exits 2 on a usage error', async () => {
    const r = await cli(['image', 'pull', 'only-a-ref']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/expected REF and DIR/);
  });
});
