import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { run } from '#test/helpers/containerd.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const CLI = join(PROJECT_ROOT, 'dist', 'kata-cc.mjs');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function install(dir: string, extra: string[] = []): ReturnType<typeof run> {
  return run([
    process.execPath,
    CLI,
    'install',
    '--containerd-config',
    join(dir, 'config.toml'),
    '--bin-dir',
    join(dir, 'bin'),
    '--runtime-class',
    join(dir, 'rc.yaml'),
    ...extra,
  ]);
}

describe('kata-cc install', () => {
  test('writes a runtime entry containerd 1.6 loads, the shim wrapper and the RuntimeClass; again changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'install-'));
    dirs.push(dir);
    writeFileSync(
      join(dir, 'config.toml'),
      'version = 2\n# keep me\n[grpc]\n  address = "/x.sock"\n',
    );
    const dry = await install(dir, ['--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('would write');
    expect(readFileSync(join(dir, 'config.toml'), 'utf8')).not.toContain('kata-cc');
    const first = await install(dir, ['--config-path', '/etc/kata-cc/config.toml']);
    expect(first.code, first.stderr).toBe(0);
    const text = readFileSync(join(dir, 'config.toml'), 'utf8');
    expect(text).toContain('# keep me');
    const dump = await run(['containerd', '--config', join(dir, 'config.toml'), 'config', 'dump']);
    expect(dump.code, dump.stderr).toBe(0);
    expect(dump.stdout).toMatch(
      /runtimes\.kata-cc\][\s\S]*?runtime_type = "io\.containerd\.kata-cc\.v2"/,
    );
    expect(dump.stdout).toContain('ConfigPath = "/etc/kata-cc/config.toml"');
    expect(statSync(join(dir, 'bin', 'containerd-shim-kata-cc-v2')).mode & 0o111).not.toBe(0);
    const version = await run([join(dir, 'bin', 'containerd-shim-kata-cc-v2'), '-v']);
    expect(version.stdout).toContain('io.containerd.kata-cc.v2');
    expect(readFileSync(join(dir, 'rc.yaml'), 'utf8')).toContain('handler: kata-cc');
    const again = await install(dir, ['--config-path', '/etc/kata-cc/config.toml']);
    expect(again.stdout.split('\n').filter((l) => l.startsWith('unchanged')).length).toBe(3);
    expect(readFileSync(join(dir, 'config.toml'), 'utf8')).toBe(text);
  });

  test('uses the containerd 2.x table for a version 3 config and refuses an unknown version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'install-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'config.toml'), 'version = 3\n');
    expect((await install(dir)).code).toBe(0);
    expect(readFileSync(join(dir, 'config.toml'), 'utf8')).toContain(
      '[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.kata-cc]',
    );
    writeFileSync(join(dir, 'config.toml'), 'version = 7\n');
    const bad = await install(dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('version 7 is not supported');
  });
});
