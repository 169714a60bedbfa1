import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { findInitDataDisk, writeInitDataFiles } from '#guest/initdata/index.js';
import { encodeInitDataDisk } from '#src/tee/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const TOML =
  'version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"aa.toml" = "[token_configs.kbs]\\nurl = \\"http://kbs\\"\\n"\n"policy.rego" = "package agent_policy\\n"\n';

describe('findInitDataDisk', () => {
  let dir: ReturnType<typeof tmpdir>;
  beforeEach(() => {
    dir = tmpdir();
    mkdirSync(join(dir.path, 'sys', 'class', 'block'), { recursive: true });
    mkdirSync(join(dir.path, 'dev'));
  });
  afterEach(() => {
    dir.remove();
  });
  const device = (name: string, bytes: Uint8Array): void => {
    mkdirSync(join(dir.path, 'sys', 'class', 'block', name));
    writeFileSync(join(dir.path, 'dev', name), bytes);
  };

  test('finds the raw initdata disk among block devices and validates it', async () => {
    device('vda', new Uint8Array(4096).fill(0x55));
    device('vdb', encodeInitDataDisk(new Uint8Array(Buffer.from(TOML))));
    const found = await findInitDataDisk(dir.path);
    expect(found?.device).toBe(join(dir.path, 'dev', 'vdb'));
    expect(found?.initData.digest).toEqual(
      new Uint8Array(createHash('sha384').update(TOML).digest()),
    );
  });

  test('answers undefined when no device carries initdata', async () => {
    device('vda', new Uint8Array(512));
    expect(await findInitDataDisk(dir.path)).toBeUndefined();
  });

  test('rejects a disk with the magic but invalid initdata', async () => {
    device('vda', encodeInitDataDisk(new Uint8Array(Buffer.from('version = "9"\n'))));
    await expect(findInitDataDisk(dir.path)).rejects.toMatchObject({ code: 'ERR_INITDATA_DISK' });
  });

  test('rejects a declared length beyond the limit before reading it', async () => {
    const d = encodeInitDataDisk(new Uint8Array(Buffer.from(TOML)));
    new DataView(d.buffer).setBigUint64(8, 1n << 40n, true);
    device('vda', d);
    await expect(findInitDataDisk(dir.path)).rejects.toMatchObject({ code: 'ERR_INITDATA_DISK' });
  });

  test('writes the documents it carries, private to root', async () => {
    device('vda', encodeInitDataDisk(new Uint8Array(Buffer.from(TOML))));
    const found = await findInitDataDisk(dir.path);
    if (!found) throw new Error('no initdata');
    const out = join(dir.path, 'run');
    expect(await writeInitDataFiles(found.initData, out)).toEqual([
      join(out, 'aa.toml'),
      join(out, 'policy.rego'),
    ]);
    expect(readFileSync(join(out, 'policy.rego'), 'utf8')).toBe('package agent_policy\n');
    expect(statSync(join(out, 'aa.toml')).mode & 0o777).toBe(0o600);
  });
});
