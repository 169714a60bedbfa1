import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { formatConfig, loadHostConfig, parseSetFlags } from '#src/host/config/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

describe('loadHostConfig', () => {
  let dir: ReturnType<typeof tmpdir>;
  let main: string;
  beforeEach(() => {
    dir = tmpdir();
    main = join(dir.path, 'config.toml');
  });
  afterEach(() => {
    dir.remove();
  });

  test('gives the defaults when the default file is absent', () => {
    const loaded = loadHostConfig({ env: { KATA_CC_CONFIG: undefined } });
    expect(loaded.config.hypervisor.accel).toBe('auto');
    expect(loaded.config.hypervisor.memory_mib).toBe(256);
    expect(loaded.sources['hypervisor.accel']).toBe('default');
    expect(Object.isFrozen(loaded.config.hypervisor)).toBe(true);
  });

  test('merges drop-ins in name order after the main file, then overrides', () => {
    writeFileSync(main, '[hypervisor]\ncpus = 2\nmemory_mib = 512\n');
    mkdirSync(join(dir.path, 'config.d'));
    writeFileSync(join(dir.path, 'config.d', '20-b.toml'), '[hypervisor]\nmemory_mib = 1024\n');
    writeFileSync(
      join(dir.path, 'config.d', '10-a.toml'),
      '[hypervisor]\nmemory_mib = 768\naccel = "tcg"\n',
    );
    writeFileSync(join(dir.path, 'config.d', 'notes.txt'), 'ignored');
    const loaded = loadHostConfig({
      path: main,
      overrides: [parseSetFlags(['hypervisor.cpus=4'])],
    });
    expect(loaded.config.hypervisor).toMatchObject({ cpus: 4, memory_mib: 1024, accel: 'tcg' });
    expect(loaded.sources['hypervisor.memory_mib']).toBe(join(dir.path, 'config.d', '20-b.toml'));
    expect(loaded.sources['hypervisor.accel']).toBe(join(dir.path, 'config.d', '10-a.toml'));
    expect(loaded.sources['hypervisor.cpus']).toBe('flag');
    expect(loaded.files).toEqual([
      main,
      join(dir.path, 'config.d', '10-a.toml'),
      join(dir.path, 'config.d', '20-b.toml'),
    ]);
  });

  test('reads the file named by KATA_CC_CONFIG', () => {
    writeFileSync(main, '[runtime]\ntee = "snp"\n');
    expect(loadHostConfig({ env: { KATA_CC_CONFIG: main } }).config.runtime.tee).toBe('snp');
  });

  test.each([
    [
      '[hypervisor]\nmemory_mib = "2G"\n',
      /config\.toml: hypervisor\.memory_mib: expected an integer 64\.\.262144, got "2G"/,
    ],
    [
      '[hypervisor]\naccel = "hvf"\n',
      /hypervisor\.accel: expected one of "auto", "kvm", "tcg", got "hvf"/,
    ],
    ['[hypervisor]\nmemroy_mib = 1\n', /hypervisor\.memroy_mib: unknown key/],
    ['[hypervisr]\n', /hypervisr: unknown section/],
    ['[hypervisor]\nkernel_params = [1]\n', /kernel_params: expected an array of strings/],
    ['[hypervisor\n', /config\.toml:1:\d+: invalid TOML/],
  ])('names the file, key and expected type for %j', (text, message) => {
    writeFileSync(main, text);
    expect(() => loadHostConfig({ path: main })).toThrow(message);
  });

  test('a named file that does not exist is an error', () => {
    expect(() => loadHostConfig({ path: join(dir.path, 'missing.toml') })).toThrow(
      expect.objectContaining({ kind: 'not_found', code: 'ERR_CONFIG_READ' }),
    );
  });

  test('formatConfig annotates every value with its source', () => {
    writeFileSync(main, '[agent]\ndial_timeout_ms = 5000\n');
    const text = formatConfig(loadHostConfig({ path: main }));
    expect(text).toContain(`dial_timeout_ms = 5000  # ${main}`);
    expect(text).toContain('accel = "auto"  # default');
  });

  test('--set values are parsed as TOML, bare words as strings', () => {
    expect(
      parseSetFlags(['hypervisor.accel=tcg', 'hypervisor.kernel_params=["a=1"]']).values,
    ).toEqual({
      hypervisor: { accel: 'tcg', kernel_params: ['a=1'] },
    });
    expect(() => parseSetFlags(['nonsense'])).toThrow(/expected section\.key=value/);
  });
});
