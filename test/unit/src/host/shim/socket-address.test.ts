import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  groupingId,
  readBundleAnnotations,
  socketAddress,
  socketPathOf,
} from '#src/host/shim/index.js';

describe('socketAddress', () => {
  test('hashes address/namespace/id like containerd and lives under /run/containerd/s', () => {
    const want = createHash('sha256')
      .update('/run/containerd/containerd.sock/k8s.io/sb1')
      .digest('hex');
    expect(socketAddress('/run/containerd/containerd.sock', 'k8s.io', 'sb1')).toBe(
      `unix:///run/containerd/s/${want}`,
    );
  });

  test('differs per namespace and per containerd', () => {
    const a = socketAddress('/a.sock', 'default', 'x');
    expect(socketAddress('/a.sock', 'other', 'x')).not.toBe(a);
    expect(socketAddress('/b.sock', 'default', 'x')).not.toBe(a);
    expect(socketPathOf(a)).toBe(a.slice('unix://'.length));
  });
});

describe('groupingId', () => {
  test('groups CRI containers under their sandbox and others under themselves', () => {
    expect(groupingId({ 'io.kubernetes.cri.sandbox-id': 'sb' }, 'c1')).toBe('sb');
    expect(
      groupingId(
        { 'io.containerd.runc.v2.group': 'g', 'io.kubernetes.cri.sandbox-id': 'sb' },
        'c1',
      ),
    ).toBe('g');
    expect(groupingId({}, 'c1')).toBe('c1');
  });

  test('reads annotations from the bundle and refuses a broken config.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shim-bundle-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ annotations: { a: 'b', n: 1 } }));
    expect(readBundleAnnotations(dir)).toEqual({ a: 'b' });
    writeFileSync(join(dir, 'config.json'), '{');
    expect(() => readBundleAnnotations(dir)).toThrow(
      expect.objectContaining({ code: 'ERR_SHIM_BUNDLE' }),
    );
  });
});
