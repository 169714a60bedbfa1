import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterEach, describe, expect, test } from 'vitest';
import { FileStore } from '#attestation/store/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const dirs: { remove(): void }[] = [];
function dir(): string {
  const d = tmpdir('kata-cc-store-');
  dirs.push(d);
  return d.path;
}
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

function valueOf(i: number): Uint8Array {
  return new TextEncoder().encode(`value-${String(i)}-`.repeat(200 + (i % 50)));
}

describe('FileStore', () => {
  test('stores, lists and deletes keys of any shape in each namespace', async () => {
    const s = await FileStore.open(dir());
    await s.put('resources', 'default/key/1', new Uint8Array([1, 2]));
    await s.put('resources', '../escape', new Uint8Array([3]));
    await s.put('policies', 'resource', new Uint8Array([4]));
    expect(await s.get('resources', 'default/key/1')).toEqual(new Uint8Array([1, 2]));
    expect(await s.list('resources')).toEqual(['../escape', 'default/key/1']);
    expect(await s.get('policies', 'default/key/1')).toBeUndefined();
    expect(await s.delete('resources', '../escape')).toBe(true);
    expect(await s.delete('resources', '../escape')).toBe(false);
    expect(readdirSync(join(s.root, 'resources'))).toHaveLength(1);
  });

  test('rejects empty and oversized keys and values', async () => {
    const s = await FileStore.open(dir());
    await expect(s.put('resources', '', new Uint8Array())).rejects.toMatchObject({
      code: 'ERR_STORE_KEY',
    });
    await expect(s.put('resources', 'x'.repeat(600), new Uint8Array())).rejects.toMatchObject({
      code: 'ERR_STORE_KEY',
    });
    await expect(s.put('resources', 'big', new Uint8Array((16 << 20) + 1))).rejects.toMatchObject({
      code: 'ERR_STORE_TOO_LARGE',
    });
  });

  test('removes temporary files a crash left behind when opened', async () => {
    const root = dir();
    await FileStore.open(root);
    writeFileSync(join(root, 'resources', '.tmp-deadbeef'), 'torn');
    const s = await FileStore.open(root);
    expect(readdirSync(join(root, 'resources'))).toEqual([]);
    expect(await s.list('resources')).toEqual([]);
  });

  test('every acknowledged write survives a SIGKILL in the middle of a write loop', async () => {
    const root = dir();
    const work = dir();
    const script = join(work, 'writer.mjs');
    writeFileSync(
      join(work, 'writer.ts'),
      `import { FileStore } from ${JSON.stringify(join(PROJECT_ROOT, 'attestation/store/index.ts'))};
const s = await FileStore.open(process.argv[2]);
for (let i = 0; ; i++) {
  await s.put('resources', 'k/' + i, new TextEncoder().encode(('value-' + i + '-').repeat(200 + (i % 50))));
  process.stdout.write('ack ' + i + '\\n');
}`,
    );
    await build({
      entryPoints: [join(work, 'writer.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: script,
      logLevel: 'silent',
      conditions: ['source'],
      external: ['*.node'],
    });
    const child = spawn(process.execPath, [script, root], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acked = -1;
    let buf = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (c: Buffer) => {
        buf += c.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) acked = Number(l.slice(4));
        if (acked >= 150 && child.exitCode === null) child.kill('SIGKILL');
      });
      child.once('close', () => {
        resolve();
      });
    });
    expect(acked).toBeGreaterThanOrEqual(150);
    const s = await FileStore.open(root);
    for (let i = 0; i <= acked; i++)
      expect(await s.get('resources', `k/${String(i)}`), `k/${String(i)}`).toEqual(valueOf(i));
    // A write in flight at the kill is either absent or whole.
    const next = await s.get('resources', `k/${String(acked + 1)}`);
    if (next) expect(next).toEqual(valueOf(acked + 1));
  }, 60_000);
});
