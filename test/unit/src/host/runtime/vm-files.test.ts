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

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Copy {
  path: string;
  data: Uint8Array;
  mode: number;
}

function agent(fail = false): { copies: Copy[]; copyFile: (p: Copy) => Promise<void> } {
  const copies: Copy[] = [];
  return {
    copies,
    copyFile: (p) => {
      if (fail) return Promise.reject(new Error('guest said no'));
      copies.push(p);
      return Promise.resolve();
    },
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

  test('sharedFileName keeps only safe characters of the destination name', () => {
    expect(sharedFileName('c1', '/dev/termination-log')).toMatch(
      /^c1-[0-9a-f]{16}-termination-log$/,
    );
    expect(sharedFileName('c1', '/x/../..')).toMatch(/^c1-[0-9a-f]{16}-file$/);
    expect(sharedFileName('c1', '/etc/a b;c')).toMatch(/-a_b_c$/);
  });
});
