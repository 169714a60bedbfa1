import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { loadHostConfig, type HostConfig } from '#src/host/config/index.js';
import {
  guestPullCallTimeoutMs,
  guestPullKernelParams,
  guestPullStorage,
  isConfidentialConfig,
  SCRATCH_SETUP_ALLOWANCE_MS,
  usesGuestPull,
} from '#src/host/runtime/guest-pull.js';
import type { BackendContainer } from '#src/host/runtime/sandbox-backend.js';
import { VmSandboxFactory } from '#src/host/runtime/index.js';
import { NULL_LOGGER } from '#src/lib/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

function container(annotations: Record<string, unknown> | undefined, id = 'c1'): BackendContainer {
  return {
    containerId: id,
    bundle: '/host/bundle',
    terminal: false,
    isSandbox: false,
    rootfsDir: '/host/rootfs',
    ociSpec: annotations === undefined ? {} : { annotations },
  };
}

describe('guest pull on the shim side', () => {
  let dir: ReturnType<typeof tmpdir>;
  let main: string;
  beforeEach(() => {
    dir = tmpdir();
    main = join(dir.path, 'config.toml');
  });
  afterEach(() => {
    dir.remove();
  });
  const load = (text: string): HostConfig => {
    writeFileSync(main, text);
    return loadHostConfig({ path: main }).config;
  };

  test('the config keys have safe defaults and are validated', () => {
    const d = load('');
    expect(d.runtime.guest_pull).toBe(false);
    expect(d.runtime.guest_pull_disk_mib).toBe(10240);
    expect(d.runtime.image_pull_timeout_s).toBe(1200);
    expect(() => load('[runtime]\nguest_pull_disk_mib = 1\n')).toThrow(
      /runtime\.guest_pull_disk_mib: expected an integer 64\.\.1048576, got 1/,
    );
    expect(() => load('[runtime]\nguest_pull_disk_mib = 99999999999\n')).toThrow(
      /guest_pull_disk_mib/,
    );
    expect(() => load('[runtime]\nimage_pull_timeout_s = 0\n')).toThrow(/image_pull_timeout_s/);
    expect(() => load('[runtime]\nguest_pull = "yes"\n')).toThrow(/runtime\.guest_pull/);
  });

  test('confidential pods always pull in the guest; others only when asked', () => {
    const off = load('');
    const on = load('[runtime]\nguest_pull = true\n');
    expect(usesGuestPull(off, true)).toBe(true);
    expect(usesGuestPull(off, false)).toBe(false);
    expect(usesGuestPull(on, false)).toBe(true);
  });

  test('the VM factory takes no host rootfs exactly when the guest pulls every image', () => {
    const factory = (c: HostConfig) =>
      new VmSandboxFactory({ config: c, projectRoot: dir.path, logger: NULL_LOGGER });
    const cases: [string, boolean, boolean][] = [
      ['', false, true],
      ['[runtime]\nguest_pull = true\n', false, false],
      ['[runtime]\nconfidential = true\n', true, false],
      ['[runtime]\ntee = "snp"\n', true, false],
      ['[runtime]\ntee = "tdx"\n', true, false],
    ];
    for (const [text, confidential, hostRootfs] of cases) {
      const c = load(text);
      expect(isConfidentialConfig(c), text).toBe(confidential);
      expect(factory(c).hostRootfs, text).toBe(hostRootfs);
    }
  });

  test('kernel parameters carry the pull timeout, and confidentiality for confidential pods', () => {
    const c = load('[runtime]\nimage_pull_timeout_s = 42\n[agent]\nrequest_timeout_ms = 1000\n');
    expect(guestPullKernelParams(c, false)).toEqual(['agent.image_pull_timeout=42']);
    expect(guestPullKernelParams(c, true)).toEqual([
      'agent.image_pull_timeout=42',
      'agent.confidential=true',
    ]);
    expect(guestPullCallTimeoutMs(c)).toBe(43_000 + SCRATCH_SETUP_ALLOWANCE_MS);
  });

  test("sends Kata's image_guest_pull storage named by the CRI image annotation", () => {
    const s = guestPullStorage(
      container({
        'io.kubernetes.cri.image-name': '10.88.0.1:5000/app:v1',
        'io.kubernetes.cri.container-type': 'container',
        'other.annotation': 'not sent',
        'io.kubernetes.cri.bad': 3,
      }),
    );
    expect(s).toEqual({
      driver: 'image_guest_pull',
      source: '10.88.0.1:5000/app:v1',
      fsType: 'overlay',
      options: [],
      driverOptions: [
        'image_guest_pull={"metadata":{"io.kubernetes.cri.image-name":"10.88.0.1:5000/app:v1","io.kubernetes.cri.container-type":"container"}}',
      ],
      mountPoint: '/run/kata-containers/c1/rootfs',
    });
  });

  test.each([
    ['no annotations', undefined],
    ['no image name', { 'io.kubernetes.cri.container-type': 'container' }],
    ['an empty image name', { 'io.kubernetes.cri.image-name': '  ' }],
  ])('a container with %s is refused with a clear error', (_w, annotations) => {
    expect(() => guestPullStorage(container(annotations))).toThrow(
      expect.objectContaining({
        kind: 'failed_precondition',
        message: expect.stringMatching(
          /container c1: its image is pulled in the guest, but the container has no io\.kubernetes\.cri\.image-name annotation/,
        ) as unknown,
      }),
    );
  });
});
