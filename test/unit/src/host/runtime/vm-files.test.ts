import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { NULL_LOGGER } from '#src/lib/index.js';
import {
  MAX_SHARED_FILE_BYTES,
  shareFileMounts,
  sharedFileName,
} from '#src/host/runtime/vm-files.js';
import { KUBELET_DATA_DIR, makeKubeletVolume } from '#test/helpers/kubelet-volume.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Copy {
  path: string;
  data: Uint8Array;
  mode: number;
}

interface FakeAgent {
  copies: Copy[];
  calls: string[];
  copyFile: (p: Copy) => Promise<void>;
  copyDirectory: (p: { path: string; mode: number }) => Promise<void>;
  copySymlink: (p: { path: string; target: string }) => Promise<void>;
}

function agent(fail = false): FakeAgent {
  const copies: Copy[] = [];
  const calls: string[] = [];
  const done = (what: string): Promise<void> => {
    if (fail) return Promise.reject(new Error('guest said no'));
    calls.push(what);
    return Promise.resolve();
  };
  return {
    copies,
    calls,
    copyFile: (p) => {
      if (!fail) copies.push(p);
      return done(`file ${p.path} ${Buffer.from(p.data).toString()}`);
    },
    copyDirectory: (p) => done(`dir ${p.path} ${p.mode.toString(8)}`),
    copySymlink: (p) => done(`link ${p.path} -> ${p.target}`),
  };
}

describe('shareFileMounts', () => {
  test('copies small bind-mounted regular files and rewrites their source; leaves the rest', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kata-share-'));
    dirs.push(d);
    writeFileSync(join(d, 'hosts'), '127.0.0.1 localhost\n', { mode: 0o644 });
    writeFileSync(join(d, 'big'), Buffer.alloc(MAX_SHARED_FILE_BYTES + 1));
    mkdirSync(join(d, 'shm'));
    const spec = {
      process: { args: ['sh'] },
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        {
          destination: '/etc/hosts',
          type: 'bind',
          source: join(d, 'hosts'),
          options: ['rbind', 'rw'],
        },
        { destination: '/dev/shm', type: 'bind', source: join(d, 'shm'), options: ['rbind'] },
        { destination: '/big', type: 'bind', source: join(d, 'big'), options: ['rbind'] },
        { destination: '/gone', type: 'bind', source: join(d, 'missing'), options: ['rbind'] },
      ],
    };
    const a = agent();
    const out = await shareFileMounts(a, 'c1', spec, NULL_LOGGER);
    expect(a.copies).toHaveLength(1);
    expect(Buffer.from(a.copies[0]!.data).toString()).toBe('127.0.0.1 localhost\n');
    expect(a.copies[0]!.mode).toBe(0o644);
    const mounts = out['mounts'] as { source: string }[];
    expect(mounts[1]!.source).toMatch(
      /^\/run\/kata-containers\/shared\/containers\/c1-[0-9a-f]{16}-hosts$/,
    );
    expect(mounts[1]!.source).toBe(a.copies[0]!.path);
    expect(mounts.map((m) => m.source).slice(2)).toEqual(spec.mounts.slice(2).map((m) => m.source));
    expect(spec.mounts[1]!.source, 'the input spec is not modified').toBe(join(d, 'hosts'));
  });

  test('a failed copy names the file and the mount', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kata-share-'));
    dirs.push(d);
    writeFileSync(join(d, 'resolv.conf'), 'nameserver 10.0.0.53\n');
    const spec = {
      mounts: [{ destination: '/etc/resolv.conf', type: 'bind', source: join(d, 'resolv.conf') }],
    };
    await expect(shareFileMounts(agent(true), 'c1', spec, NULL_LOGGER)).rejects.toMatchObject({
      code: 'ERR_RUNTIME_SANDBOX',
      message: expect.stringMatching(
        /cannot copy .*resolv.conf \(mounted at \/etc\/resolv.conf\) into the guest: guest said no/,
      ),
    });
  });

  test('copies a Secret-style volume folder with its symlinks and mounts the guest copy', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kata-share-'));
    dirs.push(d);
    const vol = makeKubeletVolume(join(d, 'creds'), { user: 'admin', pass: 's3cret' });
    const spec = {
      mounts: [{ destination: '/etc/creds', type: 'bind', source: vol, options: ['rbind', 'ro'] }],
    };
    const a = agent();
    const out = await shareFileMounts(a, 'c1', spec, NULL_LOGGER);
    const m = (out['mounts'] as { source: string; options: string[] }[])[0]!;
    expect(m.source).toMatch(/^\/run\/kata-containers\/shared\/containers\/c1-[0-9a-f]{16}-creds$/);
    expect(m.options).toEqual(['rbind', 'ro']);
    const g = m.source;
    expect(a.calls.map((c) => c.replace(/ [0-7]+$/, ''))).toEqual([
      `dir ${g}`,
      `dir ${g}/${KUBELET_DATA_DIR}`,
      `link ${g}/..data -> ${KUBELET_DATA_DIR}`,
      `link ${g}/pass -> ..data/pass`,
      `link ${g}/user -> ..data/user`,
      `file ${g}/${KUBELET_DATA_DIR}/pass s3cret`,
      `file ${g}/${KUBELET_DATA_DIR}/user admin`,
    ]);
  });

  test('a volume over the limits fails with ERR_RUNTIME_VOLUME; a failed copy names the entry', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kata-share-'));
    dirs.push(d);
    const vol = makeKubeletVolume(join(d, 'cm'), { a: '1', b: '2' });
    const spec = { mounts: [{ destination: '/etc/cm', type: 'bind', source: vol }] };
    const limits = { maxEntries: 2, maxBytes: 1 << 20, maxDepth: 4 };
    await expect(
      shareFileMounts(agent(), 'c1', spec, NULL_LOGGER, undefined, limits),
    ).rejects.toMatchObject({
      code: 'ERR_RUNTIME_VOLUME',
      kind: 'resource_exhausted',
      message: expect.stringMatching(/mounted at \/etc\/cm .*shared_volume_max_entries = 2/),
    });
    await expect(shareFileMounts(agent(true), 'c1', spec, NULL_LOGGER)).rejects.toMatchObject({
      code: 'ERR_RUNTIME_VOLUME',
      message: expect.stringMatching(
        /cannot copy volume .* \(mounted at \/etc\/cm\) into the guest: guest said no/,
      ),
    });
  });

  test('sharedFileName keeps only safe characters of the destination name', () => {
    expect(sharedFileName('c1', '/dev/termination-log')).toMatch(
      /^c1-[0-9a-f]{16}-termination-log$/,
    );
    expect(sharedFileName('c1', '/x/../..')).toMatch(/^c1-[0-9a-f]{16}-file$/);
    expect(sharedFileName('c1', '/etc/a b;c')).toMatch(/-a_b_c$/);
  });
});
