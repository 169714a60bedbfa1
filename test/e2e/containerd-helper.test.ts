import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startContainerd, type Containerd } from '#test/helpers/containerd.js';
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
});
