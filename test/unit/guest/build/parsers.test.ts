import { describe, expect, test } from 'vitest';
import {
  parseCandidateVersion,
  parseKernelDepends,
  parseShowDepends,
} from '#guest/build/kernel.js';
import { parseLddOutput } from '#guest/build/libraries.js';
import { parseVerityFormat } from '#guest/build/verity.js';
import { inputsHash, type BuildInputs } from '#guest/build/build-inputs.js';

describe('kernel package discovery', () => {
  test('finds the versioned image package the metapackage depends on', () => {
    expect(
      parseKernelDepends('linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-57-cloud-amd64\n'),
    ).toBe('linux-image-6.1.0-57-cloud-amd64');
  });

  test('refuses depends output without a kernel image', () => {
    expect(() => parseKernelDepends('linux-image-cloud-amd64\n')).toThrow(
      expect.objectContaining({ code: 'ERR_GUEST_BUILD_KERNEL' }),
    );
  });

  test('reads the candidate version and refuses (none)', () => {
    expect(parseCandidateVersion('x:\n  Installed: (none)\n  Candidate: 6.1.192-3\n', 'x')).toBe(
      '6.1.192-3',
    );
    expect(() => parseCandidateVersion('x:\n  Candidate: (none)\n', 'x')).toThrow(/apt-get update/);
  });

  test('turns modprobe --show-depends into relative paths in load order', () => {
    const text =
      'insmod /k/lib/modules/6.1/kernel/drivers/virtio/virtio_ring.ko \ninsmod /k/lib/modules/6.1/kernel/drivers/virtio/virtio.ko \nbuiltin crc32c\n';
    expect(parseShowDepends(text, '/k/lib/modules/6.1')).toEqual([
      'kernel/drivers/virtio/virtio_ring.ko',
      'kernel/drivers/virtio/virtio.ko',
    ]);
    expect(() => parseShowDepends('insmod /elsewhere/x.ko\n', '/k/lib/modules/6.1')).toThrow(
      /outside/,
    );
  });
});

describe('parseLddOutput', () => {
  test('lists libraries and the loader, not the vDSO', () => {
    const text =
      '\tlinux-vdso.so.1 (0x00007fff)\n\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f40)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f41)\n';
    expect(parseLddOutput(text, 'node')).toEqual([
      '/lib/x86_64-linux-gnu/libdl.so.2',
      '/lib64/ld-linux-x86-64.so.2',
    ]);
  });

  test('refuses a binary with a missing library', () => {
    expect(() => parseLddOutput('\tlibfoo.so.1 => not found\n', '/usr/bin/x')).toThrow(
      expect.objectContaining({ kind: 'failed_precondition' }),
    );
  });
});

describe('parseVerityFormat', () => {
  test('reads the root hash', () => {
    const h = 'a'.repeat(64);
    expect(
      parseVerityFormat(
        `VERITY header information for x\nSalt:            00\nRoot hash:      \t${h}\n`,
      ),
    ).toBe(h);
    expect(() => parseVerityFormat('Root hash: xyz\n')).toThrow(
      expect.objectContaining({ code: 'ERR_GUEST_BUILD_TOOL' }),
    );
  });
});

describe('inputsHash', () => {
  const base: BuildInputs = {
    builderVersion: 1,
    kernel: {
      name: 'linux-image-6.1.0-57-cloud-amd64',
      version: '6.1.192-3',
      release: '6.1.0-57-cloud-amd64',
    },
    modules: ['a.ko'],
    initScriptSha256: '0',
    hostFiles: { '/usr/bin/node': '1', '/usr/bin/crun': '2' },
    agentFiles: { 'kata-agent.mjs': '3' },
    nodeFlags: [],
  };

  test('does not depend on key order and changes with any input', () => {
    const reordered = { ...base, hostFiles: { '/usr/bin/crun': '2', '/usr/bin/node': '1' } };
    expect(inputsHash(reordered)).toBe(inputsHash(base));
    expect(inputsHash({ ...base, agentFiles: { 'kata-agent.mjs': '4' } })).not.toBe(
      inputsHash(base),
    );
    expect(inputsHash(base)).toMatch(/^[0-9a-f]{24}$/);
  });
});
