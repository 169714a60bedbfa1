import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startContainerd, type Containerd } from '#test/helpers/containerd.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { socketAddress } from '#src/host/shim/index.js';
import { importBusybox } from '#test/helpers/test-images.js';

describe('test containerd helper', () => {
  let cd: Containerd;
  beforeAll(async () => {
    cd = await startContainerd({ cri: true });
  });
  afterAll(async () => {
    await cd.stop();
  });

  test('runs the local busybox image under runc and prints its output', async () => {
    const image = await importBusybox(cd);
    const r = await cd.ctr([
      'run',
      '--rm',
      image,
      'helper-runc-1',
      'sh',
      '-c',
      'echo hello; exit 3',
    ]);
    expect(r.stdout).toContain('hello');
    expect(r.code).toBe(3);
  });

  test('imports the sandbox image into the k8s.io namespace when CRI is on', async () => {
    const r = await cd.ctr(['images', 'ls', '-q'], { namespace: 'k8s.io' });
    expect(r.stdout).toContain('localhost/pause:3.9');
  });

  test('derives the same shim socket address as the runc shim of containerd', async () => {
    const image = await importBusybox(cd);
    const id = 'helper-runc-addr';
    const r = await cd.ctr(['run', '-d', image, id, 'sleep', '30']);
    expect(r.code, r.stderr).toBe(0);
    try {
      const written = readFileSync(
        join(cd.state, 'io.containerd.runtime.v2.task', 'default', id, 'address'),
        'utf8',
      );
      expect(written.trim()).toBe(socketAddress(cd.address, 'default', id));
    } finally {
      await cd.ctr(['task', 'kill', '-s', 'KILL', id]);
      await new Promise((res) => setTimeout(res, 300));
      await cd.ctr(['task', 'delete', '-f', id]);
      await cd.ctr(['container', 'delete', id]);
    }
  });
});
