import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { afterEach, describe, expect, test } from 'vitest';
import {
  SHIM_BINARY,
  privateContainerdConfig,
  writeShimWrapper,
} from '#src/host/demo/containerd-config.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

type Table = Record<string, unknown>;
const at = (t: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((o, k) => (o as Table | undefined)?.[k], t);

const dirs: { remove(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

describe('privateContainerdConfig', () => {
  test('without CRI: private root, state and sockets, the CRI plugin disabled', () => {
    const cfg = parse(privateContainerdConfig({ dir: '/x/cd', logLevel: 'info' }));
    expect(cfg).toEqual({
      version: 2,
      disabled_plugins: ['io.containerd.grpc.v1.cri'],
      root: '/x/cd/root',
      state: '/x/cd/state',
      grpc: { address: '/x/cd/containerd.sock' },
      ttrpc: { address: '/x/cd/containerd.sock.ttrpc' },
      debug: { level: 'info' },
    });
  });

  test('with CRI: the kata-cc handler passes Kata annotations; mirrors for plain-HTTP registries', () => {
    const text = privateContainerdConfig({
      dir: '/x/cd',
      cri: {
        sandboxImage: 'localhost/pause:3.9',
        cniConfDir: '/x/cni',
        insecureRegistries: ['10.1.2.1:5000'],
      },
    });
    const cfg = parse(text);
    expect(cfg['disabled_plugins']).toBeUndefined();
    expect(cfg['debug']).toBeUndefined();
    const cri = at(cfg, 'plugins', 'io.containerd.grpc.v1.cri');
    expect(at(cri, 'sandbox_image')).toBe('localhost/pause:3.9');
    expect(at(cri, 'restrict_oom_score_adj')).toBeUndefined();
    expect(at(cri, 'containerd', 'runtimes', 'kata-cc')).toEqual({
      runtime_type: 'io.containerd.kata-cc.v2',
      pod_annotations: ['io.katacontainers.*'],
      container_annotations: ['io.katacontainers.*'],
    });
    expect(at(cri, 'containerd', 'default_runtime_name')).toBe('runc');
    expect(at(cri, 'cni', 'conf_dir')).toBe('/x/cni');
    expect(at(cri, 'registry', 'mirrors', '10.1.2.1:5000')).toEqual({
      endpoint: ['http://10.1.2.1:5000'],
    });
  });

  test('restrictOomScoreAdj is opt-in (the tests use it, the demo does not)', () => {
    const cfg = parse(
      privateContainerdConfig({
        dir: '/d',
        cri: { sandboxImage: 'p', cniConfDir: '/c', restrictOomScoreAdj: true },
      }),
    );
    expect(at(cfg, 'plugins', 'io.containerd.grpc.v1.cri', 'restrict_oom_score_adj')).toBe(true);
  });

  test('paths are TOML strings even with quotes in them', () => {
    expect(at(parse(privateContainerdConfig({ dir: '/x/"a b"' })), 'root')).toBe('/x/"a b"/root');
  });
});

describe('writeShimWrapper', () => {
  test('an executable named like the shim that runs the bundle with this node', () => {
    const d = tmpdir('kata-shim-wrapper-');
    dirs.push(d);
    const path = writeShimWrapper(join(d.path, 'bin'), '/opt/x/shim.mjs');
    expect(path).toBe(join(d.path, 'bin', SHIM_BINARY));
    expect(statSync(path).mode & 0o777).toBe(0o755);
    expect(readFileSync(path, 'utf8')).toBe(
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} "/opt/x/shim.mjs" "$@"\n`,
    );
  });
});
