import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { probeTee, requireTee } from '#src/host/hypervisor/index.js';

let root: string | undefined;
afterEach(() => {
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

function fakeSysfs(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), 'kata-sysfs-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

describe('TEE host detection', () => {
  test.each([
    ['tdx', 'sys/module/kvm_intel/parameters/tdx', 'Y\n', true],
    ['tdx', 'sys/module/kvm_intel/parameters/tdx', 'N\n', false],
    ['snp', 'sys/module/kvm_amd/parameters/sev_snp', 'Y\n', true],
    ['snp', 'sys/module/kvm_amd/parameters/sev_snp', '1\n', true],
    ['snp', 'sys/module/kvm_amd/parameters/sev_snp', 'N\n', false],
  ] as const)('%s with %s = %j is available: %s', (kind, rel, value, available) => {
    const r = fakeSysfs({ [rel]: value });
    expect(probeTee(kind, r).available).toBe(available);
  });

  test('refuses a TDX guest on a host without the sysfs file, naming it and what to do', () => {
    const r = fakeSysfs({});
    expect(() => {
      requireTee('tdx', r);
    }).toThrow(
      expect.objectContaining({
        kind: 'failed_precondition',
        code: 'ERR_TEE_UNAVAILABLE',
        message: expect.stringMatching(
          /\/sys\/module\/kvm_intel\/parameters\/tdx is missing.*kvm_intel/,
        ),
      }),
    );
  });

  test('refuses an SNP guest when sev_snp is N', () => {
    const r = fakeSysfs({ 'sys/module/kvm_amd/parameters/sev_snp': 'N\n' });
    expect(() => {
      requireTee('snp', r);
    }).toThrow(/sev_snp is N/);
  });

  test('accepts a guest without a TEE anywhere', () => {
    expect(() => {
      requireTee('none', fakeSysfs({}));
    }).not.toThrow();
  });
});
