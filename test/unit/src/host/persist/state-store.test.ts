import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { StateStore, type SandboxRecord } from '#src/host/persist/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function store(): StateStore {
  const d = mkdtempSync(join(tmpdir(), 'persist-'));
  dirs.push(d);
  return new StateStore(d);
}
const record: SandboxRecord = {
  version: 1,
  sandboxId: 'sb-1',
  namespace: 'default',
  shimPid: 10,
  vmPid: 11,
  vmStateDir: '/x/vm',
  socketPath: '/run/containerd/s/abc',
  containers: [{ containerId: 'c1', bundle: '/b', files: [], mounts: ['/b/rootfs'] }],
};

describe('StateStore', () => {
  test('saves, lists, loads and removes a sandbox record', () => {
    const s = store();
    s.save(record);
    expect(s.list()).toEqual(['sb-1']);
    expect(s.load('sb-1')).toEqual(record);
    s.remove('sb-1');
    expect(s.load('sb-1')).toBeUndefined();
  });

  test('refuses ids that would escape the state folder', () => {
    const s = store();
    for (const id of ['../x', 'a/b', '', '.hidden']) {
      expect(() => s.dirOf(id)).toThrow(expect.objectContaining({ kind: 'invalid_argument' }));
    }
  });

  test('reports a corrupt record instead of trusting it', () => {
    const s = store();
    s.save(record);
    writeFileSync(join(s.dirOf('sb-1'), 'state.json'), JSON.stringify({ ...record, vmPid: 'x' }));
    expect(() => s.load('sb-1')).toThrow(expect.objectContaining({ code: 'ERR_PERSIST_INVALID' }));
  });
});
