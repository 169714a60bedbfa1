import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  findInitDataDisk,
  parseLaunchDigest,
  readPublishedInitData,
  writeInitDataFiles,
} from '#guest/initdata/index.js';
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
      join(out, 'initdata.toml'),
    ]);
    expect(readFileSync(join(out, 'policy.rego'), 'utf8')).toBe('package agent_policy\n');
    expect(statSync(join(out, 'aa.toml')).mode & 0o777).toBe(0o600);
    const back = await readPublishedInitData(out);
    expect(back?.digest).toEqual(found.initData.digest);
    expect(Buffer.from(back?.toml ?? []).toString()).toBe(TOML);
  });

  test('reads no published initdata when there is none, rejects a tampered one', async () => {
    const out = join(dir.path, 'run2');
    expect(await readPublishedInitData(out)).toBeUndefined();
    mkdirSync(out);
    writeFileSync(join(out, 'initdata.toml'), 'algorithm = "md5"\n');
    await expect(readPublishedInitData(out)).rejects.toMatchObject({ code: 'ERR_INITDATA_DISK' });
  });
});

describe('parseLaunchDigest', () => {
  const hex = (n: number): string => 'ab'.repeat(n);
  test.each([
    ['sha256', 32],
    ['sha384', 48],
    ['sha512', 64],
  ] as const)('reads kata.initdata_digest=%s:<hex>', (alg, n) => {
    const d = parseLaunchDigest(`quiet kata.initdata_digest=${alg}:${hex(n)} agent.log=debug`);
    expect(d?.algorithm).toBe(alg);
    expect(d?.digest).toEqual(new Uint8Array(n).fill(0xab));
  });

  test('absent: undefined; the last occurrence wins', () => {
    expect(parseLaunchDigest('quiet')).toBeUndefined();
    const d = parseLaunchDigest(
      `kata.initdata_digest=sha256:${hex(32)} kata.initdata_digest=sha256:${'cd'.repeat(32)}`,
    );
    expect(d?.digest[0]).toBe(0xcd);
  });

  test.each(['md5:00', `sha256:${'ab'.repeat(31)}`, 'sha256', `sha256:${'AB'.repeat(32)}`])(
    'rejects %s',
    (v) => {
      expect(() => parseLaunchDigest(`kata.initdata_digest=${v}`)).toThrow(
        expect.objectContaining({ code: 'ERR_INITDATA_DISK', kind: 'invalid_argument' }),
      );
    },
  );
});
